import LLMQCore
import LLMQEngine
import LLMQQuant
import LLMQVerify

/// Error-feedback rounding (GPTQ) over calibration text: `QuantizeRequest.gptq`.
public struct GPTQSettings: Sendable, Hashable {
    /// The calibration text the source model runs over.
    public var text: TextInput
    /// Chunks of the text to collect over (nil: all it holds)… Second moments from a few thousand
    /// tokens fit their text: on SmolLM2, 16 chunks of children's stories made out-of-domain KLD
    /// worse than no feedback, 75 chunks of mixed text 20 % better (docs/verification.md).
    public var chunks: Int?
    /// …of this many tokens (capped at the model's context).
    public var contextLength = 512

    public init(text: TextInput, chunks: Int? = nil, contextLength: Int = 512) {
        self.text = text
        self.chunks = chunks
        self.contextLength = contextLength
    }

    /// As the output's metadata records it.
    var description: String { "\(text.name), \(chunks.map { "\($0)" } ?? "all") chunks of \(contextLength) tokens" }

    /// Runs `model` over the text, collects each matrix input's second moments, and factors each
    /// distinct input once (q, k and v share one, as do gate and up) on `threads` threads. The
    /// quantizer gets only the factors; the forward pass stays on this side of it.
    func factors(_ model: Model, threads: Int?, monitor: Monitor) throws -> [String: ErrorFeedback] {
        guard (chunks ?? 1) >= 1, contextLength >= 4 else {
            throw LLMQError(.usage, "GPTQ needs at least one chunk (\(chunks ?? 0)) of at least 4 tokens (\(contextLength))")
        }
        guard let vocabulary = model.tokenizer else { throw LLMQError(.usage, "--gptq needs the model's tokenizer; pass one with -z", file: model.path) }
        let text = try self.text.tokens(try Tokenizers.make(vocabulary), "the calibration text")
        let plan = try text.plan(contextLength: min(contextLength, model.config.contextLength), maxChunks: chunks, scoreAll: true)
        let pool = ThreadPool(threads: threads)
        let runner = try ChunkRunner(model: model, plan: plan, pool: pool)
        let covariances = try Calibration.collectCovariances(runner, tokens: text.tokens, plan: plan, threads: pool.threads,
                                                             progress: monitor.steps(.gptqCollect, of: plan.chunkCount))
        var distinct: [InputCovariance] = []
        for c in covariances.values where !distinct.contains(where: { $0 === c }) { distinct.append(c) }
        // Largest first, so the last factorizations to start are the cheap ones.
        distinct.sort { $0.width > $1.width }
        let factored = Locked([ObjectIdentifier: ErrorFeedback]())
        let failure = Locked<(any Error)?>(nil)
        let done = Locked(0)
        pool.parallelFor(distinct.count) { range in
            for i in range {
                guard failure.withLock({ $0 == nil }) else { return }
                do {
                    try monitor.checkCancellation()
                    let feedback = try ErrorFeedback(distinct[i])
                    factored.withLock { $0[ObjectIdentifier(distinct[i])] = feedback }
                    monitor.report(.gptqFactor, done.withLock { $0 += 1; return $0 }, distinct.count)
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        let results = factored.withLock { $0 }
        return covariances.mapValues { results[ObjectIdentifier($0)]! }
    }
}
