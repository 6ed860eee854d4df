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

    /// Layer by layer, as the writer reaches each layer's matrices (memory: one layer's second
    /// moments and factors, and the hidden states of the calibration positions), or every layer
    /// at once before writing (memory: every layer's). The bytes are the same.
    public var layerByLayer = true

    public init(text: TextInput, chunks: Int? = nil, contextLength: Int = 512, layerByLayer: Bool = true) {
        self.text = text
        self.chunks = chunks
        self.contextLength = contextLength
        self.layerByLayer = layerByLayer
    }

    /// As the output's metadata records it.
    var description: String { "\(text.name), \(chunks.map { "\($0)" } ?? "all") chunks of \(contextLength) tokens" }

    /// The quantizer's error feedback: `LayerwiseFeedback`, or every layer's factors at once.
    func feedback(_ model: Model, threads: Int?, monitor: Monitor) throws -> any ErrorFeedbackSource {
        guard layerByLayer else { return try factors(model, threads: threads, monitor: monitor) }
        let (runner, text, plan) = try prepare(model, threads: threads)
        let walk = LayerWalk(runner, tokens: text.tokens, plan: plan, threads: runner.pool.threads)
        return LayerwiseFeedback(walk, monitor: monitor)
    }

    private func prepare(_ model: Model, threads: Int?) throws -> (ChunkRunner, EvaluationTokens, EvaluationPlan) {
        guard (chunks ?? 1) >= 1, contextLength >= 4 else {
            throw LLMQError(.usage, "GPTQ needs at least one chunk (\(chunks ?? 0)) of at least 4 tokens (\(contextLength))")
        }
        guard let vocabulary = model.tokenizer else { throw LLMQError(.usage, "--gptq needs the model's tokenizer; pass one with -z", file: model.path) }
        let text = try self.text.tokens(try Tokenizers.make(vocabulary), "the calibration text")
        let plan = try text.plan(contextLength: min(contextLength, model.config.contextLength), maxChunks: chunks, scoreAll: true)
        return (try ChunkRunner(model: model, plan: plan, pool: ThreadPool(threads: threads)), text, plan)
    }

    /// Runs `model` over the text, collects each matrix input's second moments, and factors each
    /// distinct input once (q, k and v share one, as do gate and up) on `threads` threads. The
    /// quantizer gets only the factors; the forward pass stays on this side of it.
    func factors(_ model: Model, threads: Int?, monitor: Monitor) throws -> [String: ErrorFeedback] {
        let (runner, text, plan) = try prepare(model, threads: threads)
        let pool = runner.pool
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

/// Error feedback computed as the writer asks for it, in file order: the first matrix of a layer
/// walks the calibration forward pass to that layer (`LayerWalk`), collects its inputs' second
/// moments and factors them (largest first, each on every thread, its covariance dropped once
/// factored). Factors of earlier layers are kept while they fit `keptBytes`, the oldest dropped
/// first: a writer in layer order (GGUF) needs one layer's at a time, one that goes by kind of
/// matrix across layers (llama2.c's order, the .llmq container's) finds small models' factors
/// still there, and the layers a walk passes on its way (to a tied classifier written first, as
/// the embedding) are factored then while they fit. Asking for a dropped layer (a large model
/// in kind order, or with a tied classifier) walks again from the embeddings.
final class LayerwiseFeedback: ErrorFeedbackSource, @unchecked Sendable {
    /// Earlier layers' factors kept beyond the current layer's.
    static let keptBytes = 256 << 20
    private let walk: LayerWalk
    private let monitor: Monitor
    /// Tensor name → the layer whose input it multiplies (layerCount: the classifier).
    private let layerOf: [String: Int]
    /// Factored layers, oldest first.
    private let kept = Locked<[(layer: Int, factors: [String: ErrorFeedback], bytes: Int)]>([])
    private let collectTotal: Int, factorTotal: Int
    private var factored = 0

    init(_ walk: LayerWalk, monitor: Monitor) {
        self.walk = walk
        self.monitor = monitor
        let config = walk.runner.transformer.config
        var layerOf: [String: Int] = [:]
        for l in 0...config.layerCount {
            let inputs: [MatmulInput] = l == config.layerCount ? [.classifier]
                : [.attention(layer: l), .attentionOutput(layer: l), .feedForward(layer: l), .feedForwardDown(layer: l)]
            for input in inputs { for name in input.tensorNames(config) { layerOf[name] = l } }
        }
        self.layerOf = layerOf
        collectTotal = (config.layerCount + 1) * walk.chunkCount
        factorTotal = 4 * config.layerCount + 1
    }

    func feedback(for tensor: String) throws -> ErrorFeedback? {
        guard let layer = layerOf[tensor] else { return nil }
        return try kept.withLock { kept in
            if let found = kept.first(where: { $0.layer == layer }) { return found.factors[tensor] }
            // Room first: the previous layers' factors go before the next layer's sums arrive.
            var total = kept.reduce(0) { $0 + $1.bytes }
            while let oldest = kept.first, total > Self.keptBytes {
                total -= oldest.bytes
                kept.removeFirst()
            }
            // Layers the walk passes on its way: factored now if they fit, not walked again later.
            while walk.nextLayer < layer, total + estimatedBytes(walk.nextLayer) <= Self.keptBytes {
                let passed = walk.nextLayer
                kept.append(try keep(passed, self.factors(passed)))
                total += kept.last!.bytes
            }
            let factors = try self.factors(layer)
            kept.append(keep(layer, factors))
            return factors[tensor]
        }
    }

    private func keep(_ layer: Int, _ factors: [String: ErrorFeedback]) -> (layer: Int, factors: [String: ErrorFeedback], bytes: Int) {
        // q, k and v (gate and up) share one factor: count it once.
        let distinct = Dictionary(factors.values.map { (ObjectIdentifier($0), $0.byteCount) }, uniquingKeysWith: { a, _ in a })
        return (layer, factors, distinct.values.reduce(0, +))
    }

    /// About what a layer's factors take: half of each distinct input's width² in floats.
    private func estimatedBytes(_ layer: Int) -> Int {
        let c = walk.runner.transformer.config
        return layer == c.layerCount ? 2 * c.dim * c.dim : 2 * (3 * c.dim * c.dim + c.hiddenDim * c.hiddenDim)
    }

    private func factors(_ layer: Int) throws -> [String: ErrorFeedback] {
        let config = walk.runner.transformer.config, threads = walk.threads
        var covariances = try walk.covariances(layer: layer) {
            monitor.report(.gptqCollect, walk.chunksRun, max(walk.chunksRun, collectTotal))
            try monitor.checkCancellation()
        }
        var result: [String: ErrorFeedback] = [:]
        // Largest first, each dropped once factored: one layer's sums and factors at a time.
        for input in covariances.keys.sorted(by: { covariances[$0]!.width > covariances[$1]!.width }) {
            try monitor.checkCancellation()
            let feedback = try ErrorFeedback(covariances.removeValue(forKey: input)!, threads: threads)
            for name in input.tensorNames(config) { result[name] = feedback }
            factored += 1
            monitor.report(.gptqFactor, factored, max(factored, factorTotal))
        }
        return result
    }
}
