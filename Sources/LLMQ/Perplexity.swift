import LLMQCore
import LLMQEngine
import LLMQVerify

/// `llmq perplexity`: a model's perplexity on a text, as llama.cpp's `llama-perplexity` measures it.
public struct PerplexityRequest: Sendable {
    public var model: String
    /// A llama2.c tokenizer.bin for a model file that carries none.
    public var tokenizer: String?
    public var text: TextInput
    public var evaluation = EvaluationSettings()

    public init(model: String, text: TextInput, evaluation: EvaluationSettings = EvaluationSettings()) {
        self.model = model
        self.text = text
        self.evaluation = evaluation
    }
}

/// What `llmq perplexity --json` prints.
public struct PerplexityReport: Codable, Sendable {
    public var model: String
    public var format: String
    public var text: String
    public var textTokens: Int
    public var result: PerplexityResult
}

/// Tokenizes the text (BOS first when the vocabulary adds one), cuts it into chunks, runs each from
/// an empty cache (BOS replacing its first token, again only when the vocabulary adds one) and
/// scores the second half of each (or every prediction with `scoreAll`): PPL ± its uncertainty.
/// - Parameters:
///   - cancellation: checked between chunks; a cancelled call throws `CancellationError`.
///   - progress: `.perplexity` (chunks).
public func perplexity(_ request: PerplexityRequest, cancellation: CancellationToken? = nil,
                       progress: ProgressHandler? = nil) throws -> PerplexityReport {
    let monitor = Monitor(cancellation, progress)
    let pool = try request.evaluation.makePool()
    let (model, tokenizer) = try ModelInput.openForEvaluation(request.model, tokenizer: request.tokenizer)
    let text = try request.text.tokens(tokenizer)
    let plan = try text.plan(contextLength: request.evaluation.contextLength(for: model), maxChunks: request.evaluation.maxChunks,
                             scoreAll: request.evaluation.scoreAll)
    let runner = try ChunkRunner(model: model, plan: plan, batchSize: request.evaluation.batchSize, pool: pool)
    let result = try Perplexity.evaluate(runner, tokens: text.tokens, plan: plan, progress: monitor.steps(.perplexity, of: plan.chunkCount))
    return PerplexityReport(model: request.model, format: model.format.description, text: request.text.name, textTokens: text.count,
                            result: result)
}
