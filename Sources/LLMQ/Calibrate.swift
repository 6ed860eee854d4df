import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant
import LLMQVerify

/// `llmq calibrate`: how much each weight matters on calibration text, for `quantize`'s
/// `importance` (and, with `sensitivity`, its `targetBPW`).
public struct CalibrateRequest: Sendable {
    /// The model to run: its fp32 (or f16) original, for faithful statistics.
    public var model: String
    /// A llama2.c tokenizer.bin for a model file that carries none.
    public var tokenizer: String?
    public var text: TextInput
    /// Where to write the importance matrix (llama.cpp's GGUF imatrix); nil keeps it in memory.
    public var output: String?
    /// Every position of every chunk counts; `scoreAll` does not apply.
    public var evaluation = EvaluationSettings()
    /// Also measure each unit's sensitivity.
    public var sensitivity: SensitivitySettings?

    public init(model: String, text: TextInput, output: String? = nil) {
        self.model = model
        self.text = text
        self.output = output
    }
}

/// How `calibrate` measures sensitivities: each unit (a layer's attention or feed-forward
/// matrices, or each matrix) alone quantized with `BitAllocation.measurementRecipe()`, its mean KL
/// divergence from the model on a few chunks.
public struct SensitivitySettings: Sendable, Hashable, Codable {
    public var chunks = 1
    /// Tokens per chunk (capped at the model's context), every prediction scored.
    public var contextLength = 256
    public var granularity = BitAllocation.Granularity.block

    public init(chunks: Int = 1, contextLength: Int = 256, granularity: BitAllocation.Granularity = .block) {
        self.chunks = chunks
        self.contextLength = contextLength
        self.granularity = granularity
    }
}

public struct CalibrateResult: Codable, Sendable {
    /// The importance matrix written to `output` (sensitivities included when measured).
    public var importance: ImportanceMatrix
    /// How much, and how varied, the text the statistics came from was; warns when too little.
    public var coverage: CalibrationCoverage
    public var output: String?
    public var chunkCount: Int
    public var contextLength: Int
    /// Positions run (chunks × (context − 1)).
    public var positions: Int
    /// Units whose sensitivity was measured; nil when none was asked for.
    public var sensitivityUnits: Int?
    public var seconds: Double
}

/// Runs the model over the text in chunks (every position counts) and records, for every weight
/// matrix, the mean squared value of each input channel: llama.cpp's imatrix. With `sensitivity`,
/// also each unit's measured divergence when it alone is quantized. Writes `output` atomically.
/// - Parameters:
///   - cancellation: checked between chunks and units; a cancelled call throws `CancellationError`
///     and writes nothing.
///   - progress: `.calibrate` (chunks), then `.sensitivity` (units).
public func calibrate(_ request: CalibrateRequest, cancellation: CancellationToken? = nil,
                      progress: ProgressHandler? = nil) throws -> CalibrateResult {
    let monitor = Monitor(cancellation, progress)
    if let s = request.sensitivity, s.chunks < 1 || s.contextLength < 4 {
        throw LLMQError(.usage, "sensitivity needs at least one chunk (\(s.chunks)) of at least 4 tokens (\(s.contextLength))")
    }
    let pool = try request.evaluation.makePool()
    let (model, tokenizer) = try ModelInput.openForEvaluation(request.model, tokenizer: request.tokenizer)
    let text = try request.text.tokens(tokenizer)
    let plan = try text.plan(contextLength: request.evaluation.contextLength(for: model), maxChunks: request.evaluation.maxChunks,
                             scoreAll: true)
    let runner = try ChunkRunner(model: model, plan: plan, batchSize: request.evaluation.batchSize, pool: pool)
    let start = ContinuousClock.now
    var matrix = try Calibration.collect(runner, tokens: text.tokens, plan: plan, datasets: [request.text.name],
                                         progress: monitor.steps(.calibrate, of: plan.chunkCount))
    var measuredUnits: Int?
    if let settings = request.sensitivity {
        let probePlan = try text.plan(contextLength: min(settings.contextLength, model.config.contextLength), maxChunks: settings.chunks,
                                      scoreAll: true)
        let recipe = try BitAllocation.measurementRecipe()
        let quantized = try Quantizer.view(of: model, plan: recipe.plan(for: model), threads: pool.threads, importance: matrix)
        let units = Dictionary(grouping: model.tensors.filter { $0.shape.count == 2 }) { BitAllocation.unit(of: $0.name, settings.granularity) }
            .compactMap { unit, tensors in unit.map { _ in tensors } }.sorted { $0[0].name < $1[0].name }
        let values = try Sensitivity.measure(source: model, quantized: quantized, units: units.map { $0.map(\.name) }, tokens: text.tokens,
                                             plan: probePlan, batchSize: request.evaluation.batchSize, pool: pool,
                                             progress: monitor.steps(.sensitivity, of: units.count))
        matrix.sensitivities = BitAllocation.apportion(values, units: units)
        measuredUnits = units.count
    }
    if let output = request.output {
        try ImatrixFile.write(matrix, to: output, refusingToOverwrite: [request.model] + [request.text.fileName, request.tokenizer].compactMap { $0 })
    }
    let used = text.tokens.prefix(plan.chunkCount * plan.contextLength)
    let coverage = CalibrationCoverage(positions: plan.chunkCount * plan.evaluatedPerChunk, distinctTokens: Set(used).count,
                                       vocabSize: model.config.vocabSize)
    return CalibrateResult(importance: matrix, coverage: coverage, output: request.output, chunkCount: plan.chunkCount, contextLength: plan.contextLength,
                           positions: plan.chunkCount * plan.evaluatedPerChunk, sensitivityUnits: measuredUnits,
                           seconds: (ContinuousClock.now - start) / .seconds(1))
}

/// What calibration text offered. Statistics from a few thousand tokens of one kind of text fit
/// that text: on SmolLM2, an imatrix from 16 chunks of children's stories helped out-of-domain text
/// less than one from a mixed 75-chunk text, and error feedback fitted on it made it worse
/// (docs/verification.md). Hence the warnings, whose thresholds are rules of thumb: llama.cpp's
/// imatrix runs are typically 100+ chunks of 512 tokens, GPTQ's 128 sequences of 2048.
public struct CalibrationCoverage: Codable, Sendable, Equatable {
    /// Predictions the statistics were collected over.
    public var positions: Int
    /// Different token ids among the tokens run.
    public var distinctTokens: Int
    public var vocabSize: Int
    public var warnings: [String]

    public static let minPositions = 32_768
    /// A quarter of the vocabulary, at most 4096 ids.
    public static func minDistinctTokens(vocabSize: Int) -> Int { min(4096, vocabSize / 4) }

    public init(positions: Int, distinctTokens: Int, vocabSize: Int) {
        self.positions = positions
        self.distinctTokens = distinctTokens
        self.vocabSize = vocabSize
        warnings = []
        if positions < Self.minPositions {
            warnings.append("the calibration text gives \(positions) positions, fewer than \(Self.minPositions): statistics this small "
                            + "fit the text more than the model's use")
        }
        let minDistinct = Self.minDistinctTokens(vocabSize: vocabSize)
        if distinctTokens < minDistinct {
            warnings.append("the calibration text uses \(distinctTokens) of \(vocabSize) token ids, fewer than \(minDistinct): it is narrow; "
                            + "mix in text of other kinds (code, reference, dialogue) so the statistics hold beyond it")
        }
    }
}

extension TextInput {
    /// The file's path, for refusing to overwrite it.
    var fileName: String? {
        if case .file(let path) = self { return path }
        return nil
    }
}
