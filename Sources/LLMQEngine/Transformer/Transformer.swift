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
    let state: RunState
    let rope: Rope
    /// Activations for `forward(tokens:startPos:)`, grown to the largest batch seen.
    let batch: BatchState
    /// Sees every matrix product's input (calibration); nil in normal runs.
    public var activationObserver: (any ActivationObserver)?

    public init(weights: TransformerWeights, contextLength: Int? = nil, pool: ThreadPool = ThreadPool()) {
        self.weights = weights
        config = weights.config
        self.contextLength = min(contextLength ?? config.contextLength, config.contextLength)
        matvec = MatVec(pool: pool)
        state = RunState(config: config, contextLength: self.contextLength)
        rope = Rope(headDim: config.headDim, theta: config.ropeTheta, positions: self.contextLength)
        batch = BatchState(config: config, contextLength: self.contextLength, threads: pool.threads)
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

        for (l, layer) in w.layers.enumerated() {
            Ops.rmsnorm(xb, x, layer.attnNorm, dim, eps: c.normEpsilon)
            activationObserver?.observe(.attention(layer: l), xb, rows: 1, width: dim)
            // Keys and values go straight into this position's cache row.
            let cacheRow = (l * contextLength + pos) * kvDim
            let k = s.keyCache + cacheRow, v = s.valueCache + cacheRow
            matvec([layer.wq, layer.wk, layer.wv], xb, [s.q, k, v])
            rope.apply(s.q, heads: c.headCount, position: pos)
            rope.apply(k, heads: c.kvHeadCount, position: pos)

            attention(layer: l, pos: pos, out: xb)
            activationObserver?.observe(.attentionOutput(layer: l), xb, rows: 1, width: layer.wo.cols)
            matvec(layer.wo, xb, xb2)
            Ops.add(x, xb2, dim)

            Ops.rmsnorm(xb, x, layer.ffnNorm, dim, eps: c.normEpsilon)
            activationObserver?.observe(.feedForward(layer: l), xb, rows: 1, width: dim)
            matvec([layer.gate, layer.up], xb, [s.hb, s.hb2])
            Ops.swiglu(s.hb, s.hb2, hidden)
            activationObserver?.observe(.feedForwardDown(layer: l), s.hb, rows: 1, width: hidden)
            matvec(layer.down, s.hb, xb)
            Ops.add(x, xb, dim)
        }
        Ops.rmsnorm(x, x, w.outputNorm, dim, eps: c.normEpsilon)
        activationObserver?.observe(.classifier, x, rows: 1, width: dim)
        matvec(w.classifier, x, s.logits)
        return UnsafeMutableBufferPointer(start: s.logits, count: c.vocabSize)
    }

    /// Multi-head attention of the current query over cached positions 0...pos; heads in parallel
    /// once the context is long enough to pay for it.
    private func attention(layer l: Int, pos: Int, out: UnsafeMutablePointer<Float>) {
        let c = config, s = state
        let headDim = c.headDim, ctx = contextLength
        let groupSize = c.headCount / c.kvHeadCount
        let cache = KVCacheLayer(transformer: self, layer: l)
        let grain = max(1, 32768 / max((pos + 1) * headDim, 1))
        matvec.pool.parallelFor(c.headCount, grain: grain) { heads in
            for h in heads {
                cache.attend(query: s.q + h * headDim, kvHead: h / groupSize, positions: pos + 1,
                             scratch: s.att + h * ctx, out: out + h * headDim)
            }
        }
    }
}

/// One layer's keys and values in the cache, and attention of one query head over them. Both
/// forward paths use it, so token-by-token and batched logits agree.
struct KVCacheLayer {
    let keys: UnsafeMutablePointer<Float>       // (position, kv_dim)
    let values: UnsafeMutablePointer<Float>     // (position, kv_dim)
    let kvDim: Int
    let headDim: Int
    let scale: Float

    init(transformer t: Transformer, layer l: Int) {
        let c = t.config
        kvDim = c.kvDim
        headDim = c.headDim
        keys = t.state.keyCache + l * t.contextLength * kvDim
        values = t.state.valueCache + l * t.contextLength * kvDim
        scale = 1 / sqrtf(Float(headDim))
    }

    /// out (head_dim) = softmax(q·Kᵀ / √head_dim) · V over positions 0..<positions of `kvHead`;
    /// `scratch` holds `positions` scores.
    @inline(__always)
    func attend(query q: UnsafePointer<Float>, kvHead: Int, positions: Int, scratch att: UnsafeMutablePointer<Float>,
                out o: UnsafeMutablePointer<Float>) {
        let kvOffset = kvHead * headDim
        for t in 0..<positions {
            att[t] = DotF32.dot(UnsafeRawPointer(keys + t * kvDim + kvOffset), q, headDim) * scale
        }
        Ops.softmax(att, positions)
        // Eight output values at a time stay in a register across all positions; the sums are
        // formed in the same order (and unfused) as the scalar loop for the remaining values.
        let v = UnsafeRawPointer(values + kvOffset)
        var i = 0
        while i + 8 <= headDim {
            var acc = SIMD8<Float>()
            for t in 0..<positions {
                acc = acc + SIMD8(repeating: att[t]) * v.loadUnaligned(fromByteOffset: 4 * (t * kvDim + i), as: SIMD8<Float>.self)
            }
            UnsafeMutableRawPointer(o).storeBytes(of: acc, toByteOffset: 4 * i, as: SIMD8<Float>.self)
            i += 8
        }
        while i < headDim {
            var acc: Float = 0
            for t in 0..<positions { acc = acc + att[t] * values[t * kvDim + kvOffset + i] }
            o[i] = acc
            i += 1
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
