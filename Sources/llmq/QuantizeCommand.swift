import ArgumentParser
import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a model's weight matrices to int8/int4 blocks and write a self-contained file (an llmq container, or GGUF).",
        discussion: """
            The type defaults from OUT's extension (.q8 → q8_0, .q4 → q4_0). Norms stay f32; the classifier gets q8_0 under \
            a 4-bit type; a matrix whose rows are not whole blocks falls back to a smaller group, else f16 — each decision \
            is recorded in the file with its reason. Streams tensor by tensor (memory near the largest tensor), writes \
            atomically and never over the input.
            """
    )

    @OptionGroup var files: ConversionArguments

    @Option(help: "Base type, one of \(QuantizationRecipe.writableTypes), or llama.cpp's mix spelled as llama.cpp does (\(LlamaCppMix.allCases.map(\.rawValue).joined(separator: ", "))): its per-tensor types and file type; default from OUT's extension.")
    var type: String?

    @Option(help: "Group size (elements per block) of the base type: 32, 64, 128 or 256.")
    var group: Int?

    @Option(name: .customLong("tensor-type"), parsing: .singleValue,
            help: ArgumentHelp("Give tensors whose name matches REGEX this type; the first matching rule wins (repeatable).",
                               valueName: "REGEX=TYPE"))
    var tensorTypes: [String] = []

    @Option(help: ArgumentHelp("Named rules placed before --tensor-type's: \(RecipePreset.allCases.map(\.rawValue).joined(separator: ", ")) (docs/quantization.md).",
                               valueName: "name"))
    var preset: String?

    @Option(help: ArgumentHelp("Spend bits where measured sensitivity is highest: q8_0 for the matrices with the most measured sensitivity per bit until the file reaches this many bits per weight. Needs --imatrix from calibrate --sensitivity.",
                               valueName: "bits"))
    var targetBpw: Double?

    @Option(help: ArgumentHelp("Types --target-bpw may move matrices up to, narrowest first.", valueName: "types"))
    var targetTypes = BitAllocation.defaultLadder.map(\.description).joined(separator: ",")

    @Flag(help: "Search each block's scale (and minimum) for the least squared error instead of ggml's rounding (different bytes, smaller error).")
    var scaleSearch = false

    @Option(help: ArgumentHelp("Importance matrix from `llmq calibrate`: weight the scale search's error by each input channel's mean squared activation (implies --scale-search).",
                               valueName: "file"))
    var imatrix: String?

    @Option(help: ArgumentHelp("Round with error feedback (GPTQ): run the model over this calibration text, collect each matrix input's second moments, and let every rounding error be absorbed by the columns not yet rounded (matrices of types with one scale per block).",
                               valueName: "text"))
    var gptq: String?

    @Option(help: "Chunks of --gptq text to collect over…")
    var gptqChunks = 8

    @Option(help: "…of this many tokens.")
    var gptqCtx = 512

    @Option(help: "Threads for quantizing (default: all cores).")
    var threads: Int?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if gptqChunks < 1 || gptqCtx < 4 { throw ValidationError("--gptq-chunks must be ≥ 1 and --gptq-ctx ≥ 4") }
        if targetBpw != nil && imatrix == nil { throw ValidationError("--target-bpw needs --imatrix (from llmq calibrate --sensitivity)") }
    }

    /// `.q8` → q8_0, `.q4` → q4_0; nil for other extensions.
    static func defaultType(for path: String) -> String? {
        let lower = path.lowercased()
        if lower.hasSuffix(".q8") { return "q8_0" }
        if lower.hasSuffix(".q4") { return "q4_0" }
        return nil
    }

    func run() throws {
        guard let typeName = type ?? Self.defaultType(for: files.output) else {
            throw LLMQError(.usage, "name the type with --type (\(QuantizationRecipe.writableTypes)), or use a .q8 or .q4 output", file: files.output)
        }
        let format = try ModelFile.outputFormat(for: files.output, explicit: nil)
        guard format != .llama2c else {
            throw LLMQError(.usage, "llama2.c checkpoints hold only fp32 or their own int8 groups (use convert --l2c-version 2); quantize to .q4, .q8, .llmq or .gguf",
                            file: files.output)
        }
        var recipe = try QuantizationRecipe(type: typeName, group: group, rules: tensorTypes, scaleSearch: scaleSearch || imatrix != nil,
                                            importanceWeighted: imatrix != nil)
        let importance = try imatrix.map(ImatrixFile.read(path:))
        let source = try files.openInput()
        if let preset {
            guard let named = RecipePreset(rawValue: preset) else { throw LLMQError(.usage, "unknown preset '\(preset)'") }
            recipe.rules = named.rules(base: recipe.base, layers: source.config.layerCount) + recipe.rules
        }
        var allocation: [BitAllocation.Choice] = []
        if let targetBpw, let importance {
            guard !importance.sensitivities.isEmpty else {
                throw LLMQError(.usage, "holds no sensitivities; --target-bpw needs llmq calibrate --sensitivity", file: imatrix)
            }
            let search = recipe.scaleSearch
            let ladder = try targetTypes.split(separator: ",").map { name in
                guard let t = DType(name: String(name)), Quantize.canEncode(t) else {
                    throw LLMQError(.usage, "--target-types: llmq cannot write '\(name)'")
                }
                return t
            }
            (recipe, allocation) = try BitAllocation.recipe(for: source, base: recipe, sensitivity: importance.sensitivities,
                                                            targetBPW: targetBpw, ladder: ladder) { tensor, types in
                try RoundingError.estimate(source, tensor, types: types, columnWeights: try importance.columnWeights(for: tensor),
                                           search: search)
            }
        }
        let plan = try recipe.plan(for: source)
        let stats = QuantizationStats()
        let feedback = try gptq.map { try GPTQCalibration.factors(source, text: $0, contextLength: gptqCtx, chunks: gptqChunks, threads: threads) } ?? [:]
        let view = try Quantizer.view(of: source, plan: plan, stats: stats, threads: threads, importance: importance, feedback: feedback)
        var parameters = ["type": recipe.base.description]
        if !tensorTypes.isEmpty { parameters["tensor_type"] = tensorTypes.joined(separator: " ") }
        if recipe.scaleSearch { parameters["scale_search"] = "true" }
        if let imatrix { parameters["imatrix"] = imatrix }
        if let preset { parameters["preset"] = preset }
        if let targetBpw { parameters["target_bpw"] = String(targetBpw) }
        if let threads { parameters["threads"] = String(threads) }
        if let gptq { parameters["gptq"] = "\(gptq), \(gptqChunks) chunks of \(gptqCtx) tokens" }
        let imatrix = self.imatrix
        let record = { @Sendable in ContainerMetadata.Quantization(plan: plan, stats: stats, imatrix: imatrix) }
        let seconds = try files.write(view, source: source, command: "quantize", parameters: parameters, format: format,
                                      ggufFileType: recipe.mix?.fileType,
                                      threads: threads, quantization: record)
        // The summary comes from the file as written (a container or any other format).
        let written = try ModelFile.open(files.output)
        let quantization = record()
        let summary = QuantizeSummary(input: source, output: written, quantization: quantization, seconds: seconds)
        if json {
            try Terminal.json(summary)
        } else {
            print(RecipeTable.render(quantization, tensors: written.tensors))
            if let targetBpw {
                print(BitAllocationSummary.render(allocation, target: targetBpw))
            }
            print(summary.totalsLine)
        }
    }
}

/// What `quantize` reports: per tensor what it became and its error, and the totals.
struct QuantizeSummary: Encodable {
    struct Row: Encodable {
        var name: String
        var shape: [Int]
        var from: String
        var to: String
        var bytes: Int
        var storedBytes: Int
        var rmse: Double?
        var snrDB: Double?
        var reason: String?
    }

    struct Totals: Encodable {
        var inputBytes: Int
        var outputBytes: Int
        var parameters: Int
        /// Stored tensor bits over all parameters, norms and fallbacks included.
        var bitsPerWeight: Double
        var seconds: Double
        var megabytesPerSecond: Double
    }

    var input: String
    var output: String
    var recipe: ContainerMetadata.Recipe?
    var tensors: [Row]
    var totals: Totals

    init(input: Model, output: Model, quantization: ContainerMetadata.Quantization, seconds: Double) {
        self.input = input.path
        self.output = output.path
        recipe = quantization.recipe
        let records = Dictionary(quantization.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        tensors = output.tensors.map { t in
            let r = records[t.name]
            return Row(name: t.name, shape: t.shape, from: r?.sourceDType ?? t.dtype.description, to: t.dtype.description,
                       bytes: t.byteCount, storedBytes: t.storedByteCount, rmse: r?.rmse, snrDB: r?.snrDB, reason: r?.reason)
        }
        let parameters = output.parameterCount
        let stored = output.tensors.reduce(0) { $0 + $1.storedByteCount }
        totals = Totals(inputBytes: input.totalFileBytes, outputBytes: output.totalFileBytes, parameters: parameters,
                        bitsPerWeight: parameters > 0 ? Double(stored * 8) / Double(parameters) : 0, seconds: seconds,
                        megabytesPerSecond: Double(input.totalFileBytes) / 1e6 / max(seconds, 1e-9))
    }

    var totalsLine: String {
        let t = totals
        return "totals: \(Format.bytes(t.inputBytes)) → \(Format.bytes(t.outputBytes)) (\(Format.fixed(Double(t.outputBytes) / Double(max(t.inputBytes, 1)) * 100, 1))%), "
            + "\(Format.count(t.parameters)) parameters at \(Format.fixed(t.bitsPerWeight, 3)) bits per weight, "
            + "\(Format.fixed(t.seconds, 2)) s (\(Format.fixed(t.megabytesPerSecond, 0)) MB/s of input)"
    }
}

/// The `--target-bpw` line: how many matrices each type took, and the divergence the model expects.
enum BitAllocationSummary {
    static func render(_ choices: [BitAllocation.Choice], target: Double) -> String {
        let counts = Dictionary(grouping: choices, by: \.chosen).map { ($0.key, $0.value.count) }
            .sorted { $0.0.bitsPerWeight > $1.0.bitsPerWeight }
            .map { "\($0.0) ×\($0.1)" }.joined(separator: ", ")
        let expected = choices.reduce(0) { $0 + $1.estimatedKLD }
        return "target \(target) bits per weight: \(counts) of \(choices.count) matrices; expected KLD from the sensitivities \(String(format: "%.4f", expected))"
    }
}
