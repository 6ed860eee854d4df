import LLMQCore
import LLMQFormats
import LLMQQuant

/// `llmq quantize`: a model's weight matrices as int8/int4 blocks, in an llmq container or a GGUF file.
public struct QuantizeRequest: Sendable {
    /// Any model llmq reads.
    public var input: String
    /// `.q8`, `.q4`, `.llmq` (containers) or `.gguf`; `settings.format` may name the format instead.
    public var output: String
    /// A llama2.c tokenizer.bin to embed instead of the input's own.
    public var tokenizer: String?
    /// Base type of the weight matrices, group size included (`q4_0`, `q4_0_g64`); nil: from the
    /// output's extension (`.q8` q8_0, `.q4` q4_0).
    public var type: DType?
    /// llama.cpp's mix (`Q4_K_M`, …) instead of `type`: every tensor gets the type llama-quantize
    /// gives it, and a GGUF output its `general.file_type`.
    public var mix: LlamaCppMix?
    /// Group size (elements per block) of the base type: 32, 64, 128 or 256.
    public var group: Int?
    /// Types for the tensors whose canonical name a rule's pattern matches; the first match wins.
    public var rules: [QuantizationRecipe.Rule] = []
    /// Named rules placed before `rules` (`docs/quantization.md`).
    public var preset: RecipePreset?
    /// Search each block's scale for the least squared error instead of ggml's rounding.
    public var scaleSearch = false
    /// Weights the scale search's error by each input channel's mean squared activation
    /// (`calibrate`'s output); implies `scaleSearch`.
    public var importance: ImportanceInput?
    /// Spend bits where measured sensitivity is highest until the file has this many bits per
    /// weight: matrices move up `ladder`. Needs an importance matrix with sensitivities.
    public var targetBPW: Double?
    /// The types `targetBPW` may move matrices up to, narrowest first.
    public var ladder: [DType] = BitAllocation.defaultLadder
    /// Smooth the activations with this strength before anything else (`ActivationSmoothing`):
    /// the model is rewritten to an equivalent one whose matrix inputs llama.cpp rounds to 8 bits
    /// with less error. Needs `importance`, which is rewritten with it.
    public var smoothing: Double?
    /// Round with error feedback over calibration text (matrices of every `ColumnwiseRoundable` type).
    public var gptq: GPTQSettings?
    /// Threads for quantizing and for GPTQ's forward passes and factorizations; nil: every core.
    /// The file's bytes do not depend on it.
    public var threads: Int?
    /// The output format (default: from the extension) and a container's zstd level.
    public var settings = OutputSettings()

    public init(input: String, output: String, type: DType? = nil) {
        self.input = input
        self.output = output
        self.type = type
    }

    /// `.q8` → q8_0, `.q4` → q4_0; nil for other extensions.
    public static func defaultType(for path: String) -> DType? {
        let lower = path.lowercased()
        if lower.hasSuffix(".q8") { return .q8_0 }
        if lower.hasSuffix(".q4") { return .q4_0 }
        return nil
    }
}

/// An importance matrix: a file `calibrate` wrote, or one in memory.
public enum ImportanceInput: Sendable, Equatable {
    case file(String)
    /// `name` is what the output's metadata records instead of a path.
    case matrix(ImportanceMatrix, name: String)

    var name: String {
        switch self {
        case .file(let path): path
        case .matrix(_, let name): name
        }
    }

    func load() throws -> ImportanceMatrix {
        switch self {
        case .file(let path): try ImatrixFile.read(path: path)
        case .matrix(let matrix, _): matrix
        }
    }
}

/// Quantizes `request.input` into `request.output`: a recipe from the type, preset and rules (norms
/// stay f32, the classifier gets q8_0 under a 4-bit type, rows that are not whole blocks fall back),
/// optionally moved up a ladder to a bit budget, rounded plainly, by scale search or with GPTQ's
/// error feedback. Streams tensor by tensor, writes atomically and never over the input; a
/// container records every decision, its reason and its measured error, and how it was made.
/// - Parameters:
///   - cancellation: checked between tensors, chunks and matrices; a cancelled call throws
///     `CancellationError` and leaves no output.
///   - progress: `.bitAllocation` (matrices estimated), `.gptqCollect` (chunks), `.gptqFactor`
///     (inputs factored), `.quantize` (tensors written).
public func quantize(_ request: QuantizeRequest, cancellation: CancellationToken? = nil,
                     progress: ProgressHandler? = nil) throws -> QuantizeResult {
    let monitor = Monitor(cancellation, progress)
    try checkThreads(request.threads)
    if request.targetBPW != nil && request.importance == nil {
        throw LLMQError(.usage, "--target-bpw needs --imatrix (from llmq calibrate --sensitivity)")
    }
    guard let type = request.mix?.rawValue ?? (request.type ?? QuantizeRequest.defaultType(for: request.output))?.description else {
        throw LLMQError(.usage, "name the type with --type (\(QuantizationRecipe.writableTypes)), or use a .q8 or .q4 output", file: request.output)
    }
    let format = try ModelFile.outputFormat(for: request.output, explicit: request.settings.format)
    guard format != .llama2c else {
        throw LLMQError(.usage, "llama2.c checkpoints hold only fp32 or their own int8 groups (use convert --l2c-version 2); quantize to .q4, .q8, .llmq or .gguf",
                        file: request.output)
    }
    let named = try QuantizationRecipe(type: type, group: request.group)
    var recipe = try QuantizationRecipe(base: named.base, rules: request.rules, scaleSearch: request.scaleSearch || request.importance != nil,
                                        mix: named.mix, importanceWeighted: request.importance != nil)
    var importance = try request.importance?.load()
    var source = try ModelInput.openForWriting(request.input, tokenizer: request.tokenizer)
    if let alpha = request.smoothing {
        guard let measured = importance else { throw LLMQError(.usage, "--smooth needs --imatrix (the activations it balances against the weights)") }
        let smoothing = try ActivationSmoothing(model: source, importance: measured, alpha: alpha)
        source = try smoothing.view(of: source)
        importance = smoothing.apply(to: measured)
    }
    if let preset = request.preset {
        recipe.rules = preset.rules(base: recipe.base, layers: source.config.layerCount) + recipe.rules
    }
    var allocation: BitAllocationResult?
    if let target = request.targetBPW, let importance {
        (recipe, allocation) = try allocateBits(source, recipe: recipe, importance: importance, target: target, request: request,
                                                monitor: monitor)
    }
    let plan = try recipe.plan(for: source)
    let stats = QuantizationStats()
    let feedback = try request.gptq?.feedback(source, threads: request.threads, monitor: monitor) ?? [String: ErrorFeedback]()
    let view = try Quantizer.view(of: source, plan: plan, stats: stats, threads: request.threads, importance: importance, feedback: feedback)
    let imatrixName = request.importance?.name
    let record = { @Sendable in ContainerMetadata.Quantization(plan: plan, stats: stats, imatrix: imatrixName) }
    var writer = ModelWriter(source: source, output: request.output, settings: request.settings, command: "quantize",
                             parameters: provenance(request, recipe: recipe), threads: request.threads)
    writer.ggufFileType = recipe.mix?.fileType
    // The tensors no longer equal the input's; a GGUF says why (a container records every parameter).
    if let alpha = request.smoothing { writer.ggufText = [(ActivationSmoothing.ggufKey, String(alpha))] }
    let (written, file) = try writer.write(view, phase: .quantize, monitor: monitor, quantization: record)
    return QuantizeResult(written: written, file: file, quantization: record(), bitAllocation: allocation)
}

/// What a container records of the request: everything that decides the bytes, nothing that
/// does not (the thread count), so the same input and request give the same file.
private func provenance(_ request: QuantizeRequest, recipe: QuantizationRecipe) -> [String: String] {
    var parameters = ["type": recipe.base.description]
    if !request.rules.isEmpty { parameters["tensor_type"] = request.rules.map(\.description).joined(separator: " ") }
    if recipe.scaleSearch { parameters["scale_search"] = "true" }
    if let importance = request.importance { parameters["imatrix"] = importance.name }
    if let preset = request.preset { parameters["preset"] = preset.rawValue }
    if let target = request.targetBPW { parameters["target_bpw"] = String(target) }
    if let gptq = request.gptq { parameters["gptq"] = gptq.description }
    if let alpha = request.smoothing { parameters["smooth"] = String(alpha) }
    return parameters
}

/// `targetBPW`: the recipe plus one rule per matrix the budget moves up the ladder.
private func allocateBits(_ source: Model, recipe: QuantizationRecipe, importance: ImportanceMatrix, target: Double,
                          request: QuantizeRequest, monitor: Monitor) throws -> (QuantizationRecipe, BitAllocationResult) {
    guard !importance.sensitivities.isEmpty else {
        throw LLMQError(.usage, "holds no sensitivities; --target-bpw needs llmq calibrate --sensitivity", file: request.importance?.name)
    }
    for type in request.ladder where (try? QuantizationRecipe(base: type)) == nil {
        throw LLMQError(.usage, "--target-types: llmq cannot write '\(type)'")
    }
    let search = recipe.scaleSearch
    let matrices = source.tensors.filter { $0.shape.count == 2 && BitAllocation.unit(of: $0.name) != nil }.count
    let estimated = Locked(0)
    let (allocated, choices) = try BitAllocation.recipe(for: source, base: recipe, sensitivity: importance.sensitivities, targetBPW: target,
                                                        ladder: request.ladder) { tensor, types in
        let errors = try RoundingError.estimate(source, tensor, types: types, columnWeights: try importance.columnWeights(for: tensor),
                                                search: search, threads: request.threads)
        let done = estimated.withLock { $0 += 1; return $0 }
        monitor.report(.bitAllocation, done, max(matrices, done))
        try monitor.checkCancellation()
        return errors
    }
    return (allocated, BitAllocationResult(targetBPW: target, choices: choices))
}
