import ArgumentParser
import Foundation
import LLMQBench
import LLMQEngine

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure decode and prompt speed, quantize throughput, the kernels and the memory bandwidth they are bound by.",
        discussion: """
            Without FILE arguments it benchmarks a synthetic model of --shape (fp32, and q8_0/q4_0 containers quantized \
            from it), written once into --scratch and reused. Each figure is the median of --repetitions runs after \
            --warmups, with the slowest and fastest run; GB/s figures are also given as a fraction of the streaming-read \
            bandwidth measured with as many threads. quantize runs as a child process (its peak RSS is its own). Other \
            work on the machine slows every figure: the load average before and after is printed with the table.
            """
    )

    @Argument(help: "Model files to benchmark instead of a synthetic shape.")
    var files: [String] = []

    @Option(help: "Synthetic shape when no FILE is given.")
    var shape = "smollm2-135M"

    @Option(help: "Seed of the synthetic weights.")
    var seed: UInt64 = 42

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Timed runs per figure.")
    var repetitions = 5

    @Option(help: "Untimed runs before them.")
    var warmups = 1

    @Flag(name: .customLong("cpu-time"), help: "Time with the process's CPU time instead of the wall clock (for comparing kernels on a busy machine; use with --threads 1).")
    var cpuTime = false

    @Option(name: .customLong("decode-tokens"), help: "Tokens generated per decode run.")
    var decodeTokens = 128

    @Option(name: .customLong("prompt-tokens"), help: "Prompt length of the prompt-processing runs (and the batch of the batched kernels).")
    var promptTokens = 512

    @Option(help: "Also decode the last model from this many cached positions (attention at long context).")
    var depth: Int?

    @Option(name: .customLong("stream-mib"), help: "MiB the bandwidth probe and the streaming kernels read per run (far more than the caches hold).")
    var streamMiB = 512

    @Option(help: ArgumentHelp("Sections to run, comma-separated: \(BenchOptions.Section.allCases.map(\.rawValue).joined(separator: ",")).",
                               valueName: "sections"))
    var only: String?

    @Option(help: "Directory for the synthetic models and quantize outputs.")
    var scratch = FileManager.default.temporaryDirectory.appendingPathComponent("llmq-bench").path

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        guard repetitions >= 1, warmups >= 0 else { throw ValidationError("--repetitions must be ≥ 1 and --warmups ≥ 0") }
        guard decodeTokens >= 1, promptTokens >= 2 else { throw ValidationError("--decode-tokens must be ≥ 1 and --prompt-tokens ≥ 2") }
        if let depth, depth < 1 { throw ValidationError("--depth must be at least 1") }
        guard (1...16384).contains(streamMiB) else { throw ValidationError("--stream-mib must be between 1 and 16384") }
        _ = try sections()
    }

    func sections() throws -> Set<BenchOptions.Section> {
        guard let only else { return Set(BenchOptions.Section.allCases) }
        return Set(try only.split(separator: ",").map { name in
            guard let s = BenchOptions.Section(rawValue: String(name)) else { throw ValidationError("unknown section \(name)") }
            return s
        })
    }

    func run() throws {
        var options = BenchOptions()
        options.sections = try sections()
        options.threads = threads ?? ThreadPool.availableCores
        options.plan = RunPlan(warmups: warmups, repetitions: repetitions, clock: cpuTime ? .cpu : .wall)
        options.decodeTokens = decodeTokens
        options.promptTokens = promptTokens
        options.depth = depth
        options.streamBytes = streamMiB << 20
        options.executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        options.scratch = scratch
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let models = files.isEmpty
            ? try BenchModels.synthetic(shape: shape, seed: seed, directory: scratch, note: Terminal.note)
            : BenchModels.files(files)
        let report = try Bench.run(models, options: options) { Terminal.note($0) }
        if json {
            try Terminal.json(report)
        } else {
            print(render(report))
        }
    }

    func render(_ r: BenchReport) -> String {
        func loads(_ l: [Double]) -> String { l.map { Format.fixed($0, 2) }.joined(separator: " ") }
        var lines = [
            "models: \(r.models)",
            "cpu: \(r.cpu), \(r.kernels) kernels, \(r.threads) threads; median of \(r.repetitions) runs after \(r.warmups) warm-up, \(r.clock == .wall ? "wall-clock" : "CPU") time; load average \(loads(r.loadBefore)) before, \(loads(r.loadAfter)) after",
        ]
        if !r.bandwidth.isEmpty {
            let probe = r.bandwidth.sorted { Int($0.key)! < Int($1.key)! }
                .map { "\($0.key) thread\($0.key == "1" ? "" : "s") \(Format.fixed($0.value.max, 1)) GB/s (median \(Format.fixed($0.value.median, 1)))" }
            lines.append("memory read bandwidth (streaming, best run; \(r.threads) threads is the limit below): " + probe.joined(separator: ", "))
        }
        var table = TextTable(header: ["work", "median", "min–max", "unit", "GB/s", "of bandwidth", "GFLOP/s", "peak RSS"],
                              rightAligned: [1, 2, 4, 5, 6, 7])
        for row in r.rows {
            let digits = row.rate.median >= 100 ? 0 : 1
            table.add([row.name, Format.fixed(row.rate.median, digits),
                       "\(Format.fixed(row.rate.min, digits))–\(Format.fixed(row.rate.max, digits))", row.unit,
                       row.gigabytesPerSecond.map { Format.fixed($0.median, 1) } ?? "",
                       row.bandwidthFraction.map { "\(Format.fixed(100 * $0, 0))%" } ?? "",
                       row.gigaflopsPerSecond.map { Format.fixed($0.median, 1) } ?? "",
                       row.peakRSSMiB.map { "\(Format.fixed($0, 0)) MiB" } ?? ""])
        }
        lines.append(table.render())
        return lines.joined(separator: "\n")
    }
}
