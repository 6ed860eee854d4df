import LLMQCore
import LLMQEngine

/// Token generation and prompt processing on a loaded model, as `llmq run` and a batched prompt
/// would do them.
public struct ModelBenchmarks {
    public let transformer: Transformer
    public let plan: RunPlan

    public init(model: Model, contextLength: Int, pool: ThreadPool, plan: RunPlan) throws {
        transformer = try Transformer(model: model, contextLength: contextLength, pool: pool)
        self.plan = plan
    }

    /// Bytes of weights one token streams: every matrix once, plus one embedding row.
    public var weightBytesPerToken: Int {
        let w = transformer.weights
        let matrices = w.layers.flatMap { [$0.wq, $0.wk, $0.wv, $0.wo, $0.gate, $0.up, $0.down] } + [w.classifier]
        let embeddingRow = w.embeddingBytes.count / max(1, transformer.config.vocabSize)
        return matrices.reduce(0) { $0 + $1.rows * $1.rowBytes } + embeddingRow
    }

    /// Multiply-adds × 2 of the matrices for one token (the classifier included when `logits`).
    func matrixFlops(logits: Bool) -> Double {
        let w = transformer.weights
        let layer = w.layers.map { l in [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down].reduce(0) { $0 + $1.rows * $1.cols } }
        return 2 * Double(layer.reduce(0, +) + (logits ? w.classifier.rows * w.classifier.cols : 0))
    }

    /// Attention flops (scores and weighted values, every layer and head) for a query at `position`.
    func attentionFlops(position: Int) -> Double {
        let c = transformer.config
        return 4 * Double(c.layerCount * c.headCount * c.headDim * (position + 1))
    }

    /// Key and value bytes a query at `position` reads from the cache (fp32).
    func cacheBytes(position: Int) -> Double {
        let c = transformer.config
        return 8 * Double(c.layerCount * c.kvDim * (position + 1))
    }

    /// Generates `tokens` tokens greedily from position `depth` (the cache first filled to `depth`
    /// by a batched prompt), as `llmq run -t 0` does after its prompt.
    public func decode(tokens: Int, depth: Int = 0) -> Throughput {
        let vocab = transformer.config.vocabSize
        if depth > 0 { transformer.forward(tokens: Self.prompt(depth, vocab: vocab), startPos: 0, computeLogits: false) }
        let samples = plan.measure {
            var token = 1 % vocab
            for pos in depth..<(depth + tokens) {
                let logits = transformer.forward(token: token, pos: pos)
                token = Ops.argmax(logits.baseAddress!, vocab)
            }
        }
        let positions = depth..<(depth + tokens)
        let bytes = Double(tokens * weightBytesPerToken) + positions.reduce(0) { $0 + cacheBytes(position: $1) }
        let flops = Double(tokens) * matrixFlops(logits: true) + positions.reduce(0) { $0 + attentionFlops(position: $1) }
        return Throughput(samples: samples, items: Double(tokens), bytes: bytes, flops: flops)
    }

    /// Processes a prompt of `tokens` tokens in batches of at most `batch` positions and computes
    /// the logits of its last position, as a batched prompt before generation does.
    public func prompt(tokens: Int, batch: Int = 512) -> Throughput {
        let input = Self.prompt(tokens, vocab: transformer.config.vocabSize)
        let samples = plan.measure {
            var start = 0
            while start < tokens - 1 {
                let end = min(tokens - 1, start + batch)
                transformer.forward(tokens: input[start..<end], startPos: start, computeLogits: false)
                start = end
            }
            transformer.forward(tokens: input[(tokens - 1)...], startPos: tokens - 1)
        }
        let flops = Double(tokens) * matrixFlops(logits: false) + matrixFlops(logits: true) - matrixFlops(logits: false)
            + (0..<tokens).reduce(0) { $0 + attentionFlops(position: $1) }
        return Throughput(samples: samples, items: Double(tokens), bytes: nil, flops: flops)
    }

    /// Deterministic token ids spread over the vocabulary.
    static func prompt(_ count: Int, vocab: Int) -> [Int] {
        (0..<count).map { ($0 &* 7919 &+ 13) % vocab }
    }
}

/// Items (tokens, bytes) per second of a measured piece of work, with the bytes it streams and
/// the floating-point operations it does per run, when they are known.
public struct Throughput: Sendable {
    public var samples: Samples
    public var items: Double
    public var bytes: Double?
    public var flops: Double?

    public var rate: Rate { Rate(items, per: samples) }
    public var bytesPerSecond: Rate? { bytes.map { Rate($0, per: samples) } }
    public var flopsPerSecond: Rate? { flops.map { Rate($0, per: samples) } }
}
