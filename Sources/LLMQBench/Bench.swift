#if canImport(Glibc)
import Glibc
#endif
import LLMQCore
import LLMQEngine
import LLMQFormats

/// What `llmq bench` measures and how.
public struct BenchOptions: Sendable {
    public enum Section: String, CaseIterable, Sendable {
        case bandwidth, decode, prompt, quantize, kernels
    }

    public var sections = Set(Section.allCases)
    public var threads = ThreadPool.availableCores
    public var plan = RunPlan()
    /// Tokens generated per decode run.
    public var decodeTokens = 128
    /// Also decode from this many cached positions (the last model only), to show attention's cost.
    public var depth: Int?
    /// Prompt length of the prompt-processing runs.
    public var promptTokens = 512
    /// Bytes the bandwidth probe and the streaming kernels read per run; far larger than the caches.
    public var streamBytes = 512 << 20
    /// The `llmq` executable, run as a child process to measure `quantize`.
    public var executable = "/proc/self/exe"
    /// Where quantize writes its output (deleted after each run).
    public var scratch = "/tmp"

    public init() {}
}

/// One measured figure.
public struct BenchRow: Sendable, Encodable {
    public var section: String
    public var name: String
    public var unit: String
    public var rate: Rate
    /// Bytes of weights (and cache) streamed per second, where the work streams memory.
    public var gigabytesPerSecond: Rate?
    public var gigaflopsPerSecond: Rate?
    /// Median GB/s over the probe's best run with as many threads (on a shared host the memory
    /// system's speed varies from run to run; the fastest run is the nearest to what it can do).
    public var bandwidthFraction: Double?
    public var peakRSSMiB: Double?
}

public struct BenchReport: Sendable, Encodable {
    public var models: String
    public var cpu: String
    /// The integer kernels' level (`MatVec.kernels`: chosen from the CPU, or LLMQ_KERNELS).
    public var kernels: String
    public var threads: Int
    public var warmups: Int
    public var repetitions: Int
    public var clock: BenchClock
    /// 1, 5 and 15 minute load averages before and after the run.
    public var loadBefore: [Double]
    public var loadAfter: [Double]
    /// GB/s of the streaming-read probe by thread count.
    public var bandwidth: [String: Rate]
    public var rows: [BenchRow]
}

public enum Bench {
    /// Runs the selected sections on `models`; `note` receives a line before each measurement.
    public static func run(_ models: BenchModels, options o: BenchOptions, note: (String) -> Void) throws -> BenchReport {
        let loadBefore = loadAverage()
        let pool = ThreadPool(threads: o.threads)
        var rows: [BenchRow] = []
        var bandwidth: [Int: Rate] = [:]

        if o.sections.contains(.bandwidth) {
            note("memory bandwidth: reading \(o.streamBytes >> 20) MiB with 1 and \(o.threads) threads")
            bandwidth = MemoryBandwidth.measure(bytes: o.streamBytes, threads: Array(Set([1, o.threads])).sorted(), plan: o.plan)
        }
        /// A row whose figure is items per second (tokens, MB), or the work's GB/s or GFLOP/s.
        func row(_ section: String, _ name: String, _ t: Throughput, figure: Figure) -> BenchRow {
            let gb = t.bytesPerSecond?.scaled(by: 1e-9), gflops = t.flopsPerSecond?.scaled(by: 1e-9)
            let fraction = gb.flatMap { g in bandwidth[o.threads].map { g.median / ($0.max * 1e-9) } }
            let rate: Rate
            switch figure {
            case .items: rate = t.rate
            case .bandwidth: rate = gb ?? t.rate
            case .flops: rate = gflops ?? t.rate
            }
            return BenchRow(section: section, name: name, unit: figure.unit, rate: rate, gigabytesPerSecond: gb,
                            gigaflopsPerSecond: gflops, bandwidthFraction: fraction)
        }

        if o.sections.contains(.decode) || o.sections.contains(.prompt) {
            for (index, entry) in models.entries.enumerated() {
                let model = try ModelFile.open(entry.path)
                let depth = index == models.entries.count - 1 ? o.depth : nil
                let context = min(model.config.contextLength, max(o.promptTokens, (depth ?? 0) + o.decodeTokens))
                let bench = try ModelBenchmarks(model: model, contextLength: context, pool: pool, plan: o.plan)
                if o.sections.contains(.decode) {
                    note("decode \(entry.label): \(o.decodeTokens) tokens")
                    rows.append(row("decode", "decode \(entry.label)", bench.decode(tokens: min(o.decodeTokens, context)),
                                    figure: .items("tok/s")))
                    if let depth, depth + o.decodeTokens <= context {
                        note("decode \(entry.label) after \(depth) positions")
                        rows.append(row("decode", "decode \(entry.label) at depth \(depth)",
                                        bench.decode(tokens: o.decodeTokens, depth: depth), figure: .items("tok/s")))
                    }
                }
                if o.sections.contains(.prompt), o.promptTokens <= context {
                    note("prompt \(entry.label): \(o.promptTokens) tokens")
                    rows.append(row("prompt", "prompt \(entry.label) (\(o.promptTokens) tokens)",
                                    bench.prompt(tokens: o.promptTokens), figure: .items("tok/s")))
                }
            }
        }

        if o.sections.contains(.quantize) {
            let input = models.quantizeInput
            let inputBytes = Double(try MappedFile(path: input).count)
            for type in ["q8_0", "q4_0"] {
                note("quantize \(input) to \(type) (child process)")
                let output = o.scratch + "/llmq-bench-\(getpid()).\(type).llmq"
                defer { unlink(output) }
                let arguments = ["quantize", input, output, "--type", type, "--threads", "\(o.threads)"]
                for _ in 0..<o.plan.warmups { _ = try ChildProcess.run(o.executable, arguments) }
                let runs = try (0..<o.plan.repetitions).map { _ in try ChildProcess.run(o.executable, arguments) }
                let samples = Samples(seconds: runs.map { o.plan.clock == .wall ? $0.seconds : $0.cpuSeconds })
                var r = row("quantize", "quantize → \(type)", Throughput(samples: samples, items: inputBytes / 1e6, bytes: nil, flops: nil),
                            figure: .items("MB/s of input"))
                r.peakRSSMiB = Double(runs.map(\.peakRSSBytes).max() ?? 0) / 1_048_576
                rows.append(r)
            }
        }

        if o.sections.contains(.kernels) {
            let config = try ModelFile.open(models.entries[0].path).config
            let streamBytes = o.streamBytes
            for dtype in BlockTypes.encodable.map({ DType($0) }).filter(MatVec.supports) {
                // ffn_up's shape, or ffn_down's (as many weights) for blocks its rows do not fill:
                // the K-quants' 256 at SmolLM2's width of 576.
                guard let (height, width) = [(config.hiddenDim, config.dim), (config.dim, config.hiddenDim)]
                    .first(where: { dtype.byteCount(shape: [$0.0, $0.1]) != nil }) else { continue }
                let kernels = KernelBenchmarks(rows: height, cols: width, pool: pool, plan: o.plan)
                let shape = "\(height)×\(width)"
                note("kernels \(dtype)")
                rows.append(row("kernels", "matvec \(dtype) \(shape) in cache", try kernels.matvecInCache(dtype), figure: .bandwidth))
                rows.append(row("kernels", "matvec \(dtype) streaming \(streamBytes >> 20) MiB", try kernels.matvecStreaming(dtype, bytes: streamBytes),
                                figure: .bandwidth))
                rows.append(row("kernels", "batched \(dtype) \(shape) × \(o.promptTokens)", try kernels.batched(dtype, count: o.promptTokens),
                                figure: .flops))
            }
        }

        var probe: [String: Rate] = [:]
        for (threads, rate) in bandwidth { probe["\(threads)"] = rate.scaled(by: 1e-9) }
        return BenchReport(models: models.description, cpu: cpuName(), kernels: MatVec.kernels.rawValue, threads: o.threads, warmups: o.plan.warmups,
                           repetitions: o.plan.repetitions, clock: o.plan.clock, loadBefore: loadBefore, loadAfter: loadAverage(), bandwidth: probe, rows: rows)
    }

    /// The 1, 5 and 15 minute load averages.
    public static func loadAverage() -> [Double] {
        var loads = [Double](repeating: 0, count: 3)
        return getloadavg(&loads, 3) == 3 ? loads : []
    }

    /// "model name" from /proc/cpuinfo.
    static func cpuName() -> String {
        ProcFile.field("model name", in: "/proc/cpuinfo") ?? "unknown"
    }
}

/// What a row's figure is.
enum Figure {
    case items(String)
    case bandwidth
    case flops

    var unit: String {
        switch self {
        case .items(let unit): unit
        case .bandwidth: "GB/s"
        case .flops: "GFLOP/s"
        }
    }
}
