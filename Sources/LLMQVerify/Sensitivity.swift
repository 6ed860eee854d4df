import LLMQCore
import LLMQEngine
import LLMQQuant

/// How much each group of weight matrices matters to a model's predictions: the mean KL divergence
/// from the reference when that group alone is quantized and everything else stays as the source
/// holds it. `BitAllocation` spends a bit budget on the groups where it is highest.
public enum Sensitivity {
    /// The reference (`source`) runs once over the plan's chunks of `tokens`; then, per unit (a
    /// list of canonical tensor names), a model that takes those tensors from `quantized` (a view
    /// of `source`) and the rest from `source`. Returns one mean KLD per unit.
    /// - Parameter progress: called with the number of units done; what it throws ends the run.
    public static func measure(source: Model, quantized: Model, units: [[String]], tokens: [Int], plan: EvaluationPlan,
                               batchSize: Int? = nil, pool: ThreadPool, progress: (Int) throws -> Void = { _ in }) throws -> [Double] {
        let reference = try ChunkRunner(model: source, plan: plan, batchSize: batchSize, pool: pool)
        let vocab = reference.vocabSize
        // The reference's logits at every scored position, kept for all units (positions × vocab).
        var referenceLogits = [Float]()
        referenceLogits.reserveCapacity(plan.scoredTotal * vocab)
        for c in 0..<plan.chunkCount {
            let chunk = plan.chunk(c, of: tokens)
            for block in reference.blocks(plan) {
                let logits = reference.run(chunk, block)
                if block.isScored { referenceLogits.append(contentsOf: logits) }
            }
        }
        var result: [Double] = []
        for (u, unit) in units.enumerated() {
            let names = Set(unit)
            let tensors = try source.tensors.map { names.contains($0.name) ? try quantized.tensor($0.name) : $0 }
            let probe = try Model(format: FileFormat(name: "sensitivity probe"), files: quantized.files, config: source.config,
                                  tensors: tensors, tokenizer: source.tokenizer)
            let runner = try ChunkRunner(model: probe, plan: plan, batchSize: batchSize, pool: pool)
            var total = 0.0, row = 0
            for c in 0..<plan.chunkCount {
                let chunk = plan.chunk(c, of: tokens)
                for block in runner.blocks(plan) {
                    let logits = runner.run(chunk, block)
                    guard block.isScored else { continue }
                    total += referenceLogits.withUnsafeBufferPointer { ref in
                        block.positions.enumerated().reduce(0.0) { sum, item in
                            let (i, pos) = item
                            return sum + TokenComparison.exact(reference: LogitRow(ref.baseAddress! + (row + i) * vocab, count: vocab),
                                                               candidate: LogitRow(logits.baseAddress! + i * vocab, count: vocab),
                                                               target: chunk[pos + 1]).kld
                        }
                    }
                    row += block.positions.count
                }
            }
            result.append(total / Double(max(row, 1)))
            try progress(u + 1)
        }
        return result
    }
}
