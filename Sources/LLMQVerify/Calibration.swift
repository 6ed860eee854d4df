import LLMQCore
import LLMQEngine
import LLMQQuant

/// Collects an importance matrix: runs a model (normally fp32) over calibration text and sums the
/// squares of every matrix product's input, per input column. Every position of every chunk counts
/// (`plan` should score all predictions, so the classifier's input is computed too).
public enum Calibration {
    /// - Parameters:
    ///   - datasets: names of the calibration texts, recorded in the result.
    ///   - progress: called with the number of chunks done; what it throws ends the run.
    public static func collect(_ runner: ChunkRunner, tokens: [Int], plan: EvaluationPlan, datasets: [String],
                               progress: (Int) throws -> Void) rethrows -> ImportanceMatrix {
        let statistics = ActivationStatistics()
        try observe(runner, tokens: tokens, plan: plan, with: statistics, progress: progress)
        return statistics.importance(config: runner.transformer.config, datasets: datasets, chunkCount: plan.chunkCount,
                                     chunkSize: plan.contextLength)
    }

    public static func collect(_ runner: ChunkRunner, tokens: [Int], plan: EvaluationPlan, datasets: [String]) -> ImportanceMatrix {
        collect(runner, tokens: tokens, plan: plan, datasets: datasets) { _ in }
    }

    /// Runs every chunk of the plan with `observer` watching the matrix inputs.
    static func observe(_ runner: ChunkRunner, tokens: [Int], plan: EvaluationPlan, with observer: some ActivationObserver,
                        progress: (Int) throws -> Void) rethrows {
        let transformer = runner.transformer
        transformer.activationObserver = observer
        defer { transformer.activationObserver = nil }
        for c in 0..<plan.chunkCount {
            let chunk = plan.chunk(c, of: tokens)
            for block in runner.blocks(plan) { runner.run(chunk, block) }
            try progress(c + 1)
        }
    }
}

/// Σx² per column of each matrix input the forward pass shows it, and the number of vectors.
final class ActivationStatistics: ActivationObserver {
    private var sums: [MatmulInput: [Double]] = [:]
    private var counts: [MatmulInput: Int] = [:]

    func observe(_ input: MatmulInput, _ x: UnsafePointer<Float>, rows: Int, width: Int) {
        var total = sums[input] ?? [Double](repeating: 0, count: width)
        // Float sums of up to a batch of rows (a few hundred), then Double across batches.
        var block = [Float](repeating: 0, count: width)
        for r in 0..<rows {
            let row = x + r * width
            for j in 0..<width { block[j] += row[j] * row[j] }
        }
        for j in 0..<width { total[j] += Double(block[j]) }
        sums[input] = total
        counts[input, default: 0] += rows
    }

    func importance(config: ModelConfig, datasets: [String], chunkCount: Int, chunkSize: Int) -> ImportanceMatrix {
        var entries: [String: ImportanceMatrix.Entry] = [:]
        for (input, sum) in sums {
            let entry = ImportanceMatrix.Entry(sumSquares: sum.map(Float.init), count: counts[input] ?? 0)
            for name in input.tensorNames(config) { entries[name] = entry }
        }
        return ImportanceMatrix(entries: entries, datasets: datasets, chunkCount: chunkCount, chunkSize: chunkSize)
    }
}

extension Calibration {
    /// The second moments of every matrix product's inputs over the text (for error-feedback
    /// rounding), by tensor name; matrices that read the same input share one object.
    public static func collectCovariances(_ runner: ChunkRunner, tokens: [Int], plan: EvaluationPlan, threads: Int,
                                          progress: (Int) throws -> Void) rethrows -> [String: InputCovariance] {
        let collector = CovarianceCollector(threads: threads)
        try observe(runner, tokens: tokens, plan: plan, with: collector, progress: progress)
        var result: [String: InputCovariance] = [:]
        for (input, covariance) in collector.covariances {
            for name in input.tensorNames(runner.transformer.config) { result[name] = covariance }
        }
        return result
    }
}

/// Σ x·xᵀ of each matrix input the forward pass shows it.
final class CovarianceCollector: ActivationObserver {
    private(set) var covariances: [MatmulInput: InputCovariance] = [:]
    let threads: Int

    init(threads: Int) { self.threads = threads }

    func observe(_ input: MatmulInput, _ x: UnsafePointer<Float>, rows: Int, width: Int) {
        let covariance = covariances[input] ?? InputCovariance(width: width)
        covariances[input] = covariance
        covariance.add(x, rows: rows, threads: threads)
    }
}
