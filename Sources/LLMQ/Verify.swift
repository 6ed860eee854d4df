import LLMQCore
import LLMQEngine
import LLMQVerify

/// `llmq verify`: a candidate model's predictions against a reference's, with quality gates.
public struct VerifyRequest: Sendable {
    /// A model file, or a reference-logits file `saveReference` wrote (recognised by its magic),
    /// whose tokens and settings are then used.
    public var reference: String
    public var candidate: String
    /// A llama2.c tokenizer.bin for model files that carry none.
    public var tokenizer: String?
    /// Required with a reference model; with a saved reference, checked to give its tokens.
    public var text: TextInput?
    /// With a saved reference, settings that differ from its own are errors.
    public var evaluation = EvaluationSettings()
    public var gates = Gates()
    /// Run the candidate on fp32 weights dequantized from it, not on its own kernels.
    public var simulate = false
    /// Save the reference model's next-token distributions here (`formats/reference-logits.md`).
    public var saveReference: String?
    /// A saved reference keeps the most likely tokens until at most `referenceTailMass` of the
    /// probability is left outside, but at most `referenceMaxKept` (≥ 5) per position; where more
    /// is left, it draws `referenceTailSampleRate` tokens per unit of that probability from it.
    public var referenceMaxKept = Verification.defaultMaxKept
    public var referenceTailMass = Verification.defaultTailMass
    public var referenceTailSampleRate = Verification.defaultTailSampleRate

    public init(reference: String, candidate: String, text: TextInput? = nil, gates: Gates = Gates()) {
        self.reference = reference
        self.candidate = candidate
        self.text = text
        self.gates = gates
    }
}

/// Runs both models (or the candidate against a saved reference) over the same chunks and compares
/// their distributions at every scored position: PPL of each, KL divergence, top-1 and top-5
/// agreement, the correct token's probability change, and (with a reference model) the weight
/// error of every tensor that differs. The gates are checked into the report (`passed`); a failed
/// gate is a result, not an error. Both models must read token ids the same way.
/// - Parameters:
///   - cancellation: checked between chunks; a cancelled call throws `CancellationError` and
///     leaves no saved reference.
///   - progress: `.verify` (chunks).
public func verify(_ request: VerifyRequest, cancellation: CancellationToken? = nil,
                   progress: ProgressHandler? = nil) throws -> VerifyReport {
    let monitor = Monitor(cancellation, progress)
    guard request.referenceMaxKept >= 5 else { throw LLMQError(.usage, "a saved reference keeps at least 5 tokens per position") }
    guard request.referenceTailMass >= 0 && request.referenceTailMass < 1 else {
        throw LLMQError(.usage, "a saved reference's tail mass must be in [0, 1)")
    }
    guard (0...(1 << 20)).contains(request.referenceTailSampleRate) else {
        throw LLMQError(.usage, "a saved reference's tail sample rate must be in 0...1048576")
    }
    let settings = request.evaluation
    let pool = try settings.makePool()
    let (candidate, candidateTokenizer) = try ModelInput.openForEvaluation(request.candidate, tokenizer: request.tokenizer)
    let reference: ReferenceInput, text: EvaluationTokens, plan: EvaluationPlan
    var referenceSide: VerifyReport.Side, referenceModel: Model?
    if SavedReference.isReferenceFile(request.reference) {
        let saved = try SavedReference.read(path: request.reference)
        try check(request, against: saved, candidateTokenizer)
        plan = saved.plan
        (reference, text) = (.saved(saved), EvaluationTokens(tokens: saved.tokens, bosID: plan.bosID))
        referenceSide = VerifyReport.Side(path: request.reference,
                                          format: "saved reference logits of \(saved.header.model) (\(saved.header.modelFormat))")
    } else {
        let (model, tokenizer) = try ModelInput.openForEvaluation(request.reference, tokenizer: request.tokenizer)
        guard TokenizerIdentity.fingerprint(tokenizer) == TokenizerIdentity.fingerprint(candidateTokenizer) else {
            throw LLMQError(.usage, "the reference and the candidate have different tokenizers; their token ids cannot be compared",
                            file: request.candidate)
        }
        guard let input = request.text else { throw LLMQError(.usage, "--text FILE is required") }
        text = try input.tokens(tokenizer)
        plan = try text.plan(contextLength: settings.contextLength(for: model, candidate), maxChunks: settings.maxChunks,
                             scoreAll: settings.scoreAll)
        reference = .model(try ChunkRunner(model: model, plan: plan, batchSize: settings.batchSize, pool: pool))
        referenceSide = VerifyReport.Side(model: model, path: request.reference)
        referenceModel = model
    }
    let candidateRunner = try ChunkRunner(model: candidate, plan: plan, batchSize: settings.batchSize, simulate: request.simulate, pool: pool)
    let writer = try referenceModel.flatMap { model in
        try request.saveReference.map { path in
            try ReferenceLogitsWriter(
                path: path,
                header: SavedReference.Header(plan: plan, model: model, tokenizer: candidateTokenizer, text: request.text?.name,
                                              maxKept: request.referenceMaxKept, tailMass: request.referenceTailMass,
                                              tailSampleRate: request.referenceTailSampleRate),
                tokens: text.tokens,
                refusingToOverwrite: [request.reference, request.candidate] + [request.text?.fileName, request.tokenizer].compactMap { $0 })
        }
    }
    let start = ContinuousClock.now
    let comparison = try Verification.compare(reference: reference, candidate: candidateRunner, tokens: text.tokens, plan: plan,
                                              save: writer, progress: monitor.steps(.verify, of: plan.chunkCount))
    try writer?.commit()
    let tensors = try referenceModel.map { try WeightComparison.compare(reference: $0, candidate: candidate) }
    var savedText: String?
    if case .saved(let saved) = reference { savedText = saved.header.text }
    return VerifyReport(
        reference: referenceSide,
        candidate: VerifyReport.Side(model: candidate, path: request.candidate, mode: candidateMode(candidate, simulated: request.simulate)),
        text: request.text?.name ?? savedText, plan: plan, comparison: comparison, tensors: tensors, gates: request.gates,
        seconds: (ContinuousClock.now - start) / .seconds(1))
}

/// With a saved reference, the run's settings come from the file; conflicting ones are errors, and
/// the candidate must read token ids as the reference's tokenizer did.
private func check(_ request: VerifyRequest, against saved: SavedReference, _ candidateTokenizer: any Tokenizer) throws {
    let h = saved.header, path = request.reference
    if let ctx = request.evaluation.contextLength, ctx != h.contextLength {
        throw LLMQError(.usage, "was saved with --ctx \(h.contextLength), not \(ctx)", file: path)
    }
    if let chunks = request.evaluation.maxChunks, chunks != h.chunkCount {
        throw LLMQError(.usage, "was saved with \(h.chunkCount) chunks, not \(chunks)", file: path)
    }
    if request.evaluation.scoreAll != h.scoreAll {
        throw LLMQError(.usage, "was saved \(h.scoreAll ? "with" : "without") --score-all", file: path)
    }
    if request.saveReference != nil { throw LLMQError(.usage, "is already a saved reference; --save-reference needs a model", file: path) }
    guard TokenizerIdentity.hex(TokenizerIdentity.fingerprint(candidateTokenizer)) == h.tokenizer else {
        throw LLMQError(.usage, "the candidate's tokenizer differs from the one the reference was saved with", file: request.candidate)
    }
    if let text = request.text {
        let tokens = try text.tokens(candidateTokenizer).tokens
        guard Array(tokens.prefix(saved.tokens.count)) == saved.tokens else {
            throw LLMQError(.usage, "the text does not tokenize to the tokens the reference was saved with", file: text.name)
        }
    }
}

/// How the candidate ran, and whether its weights are a smoothing rewrite of the reference's (the
/// weight table then counts the rewrite as difference; the logits are unaffected).
private func candidateMode(_ candidate: Model, simulated: Bool) -> String {
    let mode = simulated ? "simulated (fp32 from dequantized weights)" : "native kernels"
    guard let alpha = candidate.metadata.first(where: { $0.key == ActivationSmoothing.ggufKey })?.value.filter({ $0 != "\"" }) else { return mode }
    return mode + "; weights rewritten by activation smoothing (alpha \(alpha)): the weight table counts the rewrite as difference"
}
