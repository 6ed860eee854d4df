#if canImport(Glibc)
import Glibc
#endif
import LLMQCore

/// The Llama forward pass, one token at a time, as llama2.c's run.c computes it:
/// RMSNorm → Q/K/V → RoPE → grouped-query attention over the KV cache → output projection →
/// RMSNorm → SwiGLU feed-forward, then the final norm and the classifier.
public final class Transformer {
    public let weights: TransformerWeights
    public let config: ModelConfig
    /// Positions the KV cache holds (≤ the model's context length).
    public let contextLength: Int
    public let matvec: MatVec
    private let state: RunState
    private var rope: Rope

    public init(weights: TransformerWeights, contextLength: Int? = nil, pool: ThreadPool = ThreadPool()) {
        self.weights = weights
        config = weights.config
        self.contextLength = min(contextLength ?? config.contextLength, config.contextLength)
        matvec = MatVec(pool: pool)
        state = RunState(config: config, contextLength: self.contextLength)
        rope = Rope(headDim: config.headDim, theta: config.ropeTheta)
    }

    public convenience init(model: Model, contextLength: Int? = nil, pool: ThreadPool = ThreadPool()) throws {
        try self.init(weights: TransformerWeights(model: model), contextLength: contextLength, pool: pool)
    }

    /// Runs `token` at position `pos` (0-based, < contextLength) and returns the logits (vocab values),
    /// valid until the next call.
    public func forward(token: Int, pos: Int) -> UnsafeMutableBufferPointer<Float> {
        precondition(pos >= 0 && pos < contextLength, "position \(pos) is outside the context of \(contextLength)")
        precondition(token >= 0 && token < config.vocabSize, "token \(token) is outside the vocabulary")
        let c = config, s = state, w = weights
        let dim = c.dim, kvDim = c.kvDim, hidden = c.hiddenDim
        let x = s.x, xb = s.xb, xb2 = s.xb2
        w.embed(token, into: x)
        rope.setPosition(pos)

        for (l, layer) in w.layers.enumerated() {
            Ops.rmsnorm(xb, x, layer.attnNorm, dim, eps: c.normEpsilon)
            // Keys and values go straight into this position's cache row.
            let cacheRow = (l * contextLength + pos) * kvDim
            let k = s.keyCache + cacheRow, v = s.valueCache + cacheRow
            matvec(layer.wq, xb, s.q)
            matvec(layer.wk, xb, k)
            matvec(layer.wv, xb, v)
            rope.apply(s.q, heads: c.headCount)
            rope.apply(k, heads: c.kvHeadCount)

            attention(layer: l, pos: pos, out: xb)
            matvec(layer.wo, xb, xb2)
            Ops.add(x, xb2, dim)

            Ops.rmsnorm(xb, x, layer.ffnNorm, dim, eps: c.normEpsilon)
            matvec(layer.gate, xb, s.hb)
            matvec(layer.up, xb, s.hb2)
            Ops.swiglu(s.hb, s.hb2, hidden)
            matvec(layer.down, s.hb, xb)
            Ops.add(x, xb, dim)
        }
        Ops.rmsnorm(x, x, w.outputNorm, dim, eps: c.normEpsilon)
        matvec(w.classifier, x, s.logits)
        return UnsafeMutableBufferPointer(start: s.logits, count: c.vocabSize)
    }

    /// Multi-head attention of the current query over cached positions 0...pos; heads in parallel
    /// once the context is long enough to pay for it.
    private func attention(layer l: Int, pos: Int, out: UnsafeMutablePointer<Float>) {
        let c = config, s = state
        let headDim = c.headDim, kvDim = c.kvDim, ctx = contextLength
        let groupSize = c.headCount / c.kvHeadCount
        let scale = 1 / sqrtf(Float(headDim))
        let keys = s.keyCache + l * ctx * kvDim, values = s.valueCache + l * ctx * kvDim
        let grain = max(1, 32768 / max((pos + 1) * headDim, 1))
        matvec.pool.parallelFor(c.headCount, grain: grain) { heads in
            for h in heads {
                let q = s.q + h * headDim
                let att = s.att + h * ctx
                let kvOffset = (h / groupSize) * headDim
                for t in 0...pos {
                    att[t] = DotF32.dot(UnsafeRawPointer(keys + t * kvDim + kvOffset), q, headDim) * scale
                }
                Ops.softmax(att, pos + 1)
                let o = out + h * headDim
                o.update(repeating: 0, count: headDim)
                for t in 0...pos {
                    let a = att[t]
                    let vt = values + t * kvDim + kvOffset
                    for i in 0..<headDim { o[i] += a * vt[i] }
                }
            }
        }
    }
}

/// Activation buffers and the KV cache, allocated once per transformer: nothing is allocated
/// in the token loop.
final class RunState {
    let x, xb, xb2, hb, hb2, q, att, logits: UnsafeMutablePointer<Float>
    let keyCache, valueCache: UnsafeMutablePointer<Float>   // (layer, position, kv_dim)
    private let all: [UnsafeMutablePointer<Float>]

    init(config c: ModelConfig, contextLength: Int) {
        func buffer(_ n: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
            p.initialize(repeating: 0, count: max(n, 1))
            return p
        }
        let qDim = c.headCount * c.headDim
        x = buffer(c.dim); xb = buffer(max(c.dim, qDim)); xb2 = buffer(c.dim)
        hb = buffer(c.hiddenDim); hb2 = buffer(c.hiddenDim)
        q = buffer(qDim)
        att = buffer(c.headCount * contextLength)
        logits = buffer(c.vocabSize)
        keyCache = buffer(c.layerCount * contextLength * c.kvDim)
        valueCache = buffer(c.layerCount * contextLength * c.kvDim)
        all = [x, xb, xb2, hb, hb2, q, att, logits, keyCache, valueCache]
    }

    deinit {
        for p in all { p.deallocate() }
    }
}
