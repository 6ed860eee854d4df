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
        let dim = c.dim, hidden = c.hiddenDim
        let x = s.x, xb = s.xb, xb2 = s.xb2
        w.embed(token, into: x)

        for (l, layer) in w.layers.enumerated() {
            Ops.rmsnorm(xb, x, layer.attnNorm, dim, eps: c.normEpsilon)
            activationObserver?.observe(.attention(layer: l), xb, rows: 1, width: dim)
            matvec([layer.wq, layer.wk, layer.wv], xb, [s.q, s.k, s.v])
            rope.apply(s.q, heads: c.headCount, position: pos, rotateHalf: layer.rotateHalf)
            rope.apply(s.k, heads: c.kvHeadCount, position: pos, rotateHalf: layer.rotateHalf)
            KVCacheLayer(transformer: self, layer: l).store(keys: s.k, values: s.v, from: pos, count: 1)

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
        // A head over p positions is ~p·head_dim·2 multiply-adds in scalar-summed dot products:
        // ~20 µs a layer on the caller at 64 positions (SmolLM2), while the other threads wait,
        // against ~1 µs for a hand-off; split from a few thousand elements per part.
        let grain = max(1, 4096 / max((pos + 1) * headDim, 1))
        matvec.pool.parallelFor(c.headCount, grain: grain) { heads in
            for h in heads {
                cache.attend(query: s.q + h * headDim, kvHead: h / groupSize, positions: pos + 1,
                             scratch: s.att + h * ctx, out: out + h * headDim)
            }
        }
    }
}

/// One layer's keys and values in the cache, and attention of one query head over them. Each
/// KV head's keys (and values) are contiguous, a row of head_dim floats per position, so
/// attention streams them front to back: with rows of all heads interleaved (kv_dim floats per
/// position), reading one head's slice of each row left the prefetchers behind once the cache
/// outgrew L3, and decoding at 1024 positions spent two thirds of its time there.
struct KVCacheLayer {
    let keys: UnsafeMutablePointer<Float>       // (kv head, position, head_dim)
    let values: UnsafeMutablePointer<Float>     // (kv head, position, head_dim)
    let kvHeads: Int
    let headDim: Int
    /// Floats from one KV head's rows to the next's.
    let headStride: Int
    let scale: Float

    init(transformer t: Transformer, layer l: Int) {
        let c = t.config
        kvHeads = c.kvHeadCount
        headDim = c.headDim
        headStride = t.contextLength * headDim
        keys = t.state.keyCache + l * t.contextLength * c.kvDim
        values = t.state.valueCache + l * t.contextLength * c.kvDim
        scale = 1 / sqrtf(Float(headDim))
    }

    func keys(of kvHead: Int) -> UnsafeMutablePointer<Float> { keys + kvHead * headStride }
    func values(of kvHead: Int) -> UnsafeMutablePointer<Float> { values + kvHead * headStride }

    /// Files `count` positions' keys and values (rows of kv_dim floats, as the products write
    /// them) at positions `first ..< first + count`.
    func store(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, from first: Int, count: Int) {
        let kvDim = kvHeads * headDim
        for h in 0..<kvHeads {
            let kh = keys(of: h) + first * headDim, vh = values(of: h) + first * headDim
            for i in 0..<count {
                (kh + i * headDim).update(from: k + i * kvDim + h * headDim, count: headDim)
                (vh + i * headDim).update(from: v + i * kvDim + h * headDim, count: headDim)
            }
        }
    }

    /// In-place softmax over the `n` scores, eight at a time with `BlockAttention.exp` (as the
    /// batched path computes them): libm's scalar expf was a third of decoding's attention time at
    /// long context. The last partial vector is padded with −∞, whose exponential is 0.
    @inline(__always)
    static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        typealias V = SIMD8<Float>
        let raw = UnsafeMutableRawPointer(x), whole = n & ~7
        func tail() -> V {
            var v = V(repeating: -.infinity)
            for j in 0..<(n - whole) { v[j] = x[whole + j] }
            return v
        }
        var maxima = V(repeating: -.infinity)
        var i = 0
        while i < whole {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            maxima.replace(with: v, where: v .> maxima)
            i += 8
        }
        if whole < n { let v = tail(); maxima.replace(with: v, where: v .> maxima) }
        let m = V(repeating: maxima.max())
        var sums = V()
        i = 0
        while i < whole {
            let e = BlockAttention.exp(raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self) - m)
            raw.storeBytes(of: e, toByteOffset: 4 * i, as: V.self)
            sums += e
            i += 8
        }
        if whole < n {
            let e = BlockAttention.exp(tail() - m)
            for j in 0..<(n - whole) { x[whole + j] = e[j] }
            sums += e
        }
        let sum = V(repeating: sums.sum())
        i = 0
        while i < whole {
            raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self) / sum, toByteOffset: 4 * i, as: V.self)
            i += 8
        }
        for j in whole..<n { x[j] /= sum[0] }
    }

    /// out (head_dim) = softmax(q·Kᵀ / √head_dim) · V over positions 0..<positions of `kvHead`;
    /// `scratch` holds `positions` scores.
    @inline(__always)
    func attend(query q: UnsafePointer<Float>, kvHead: Int, positions: Int, scratch att: UnsafeMutablePointer<Float>,
                out o: UnsafeMutablePointer<Float>) {
        let kh = keys(of: kvHead), vh = values(of: kvHead)
        for t in 0..<positions {
            att[t] = FloatDot.dot(UnsafeRawPointer(kh + t * headDim), q, headDim) * scale
        }
        Self.softmax(att, positions)
        // Up to 64 output values stay in eight registers while the positions pass: each value row
        // is read once, and the eight sums are independent chains (one sum through all positions
        // before the next waited on the adder's latency at every step). Each value is still
        // summed over positions in order and unfused, as the scalar loop does the rest.
        let v = UnsafeRawPointer(vh)
        var i = 0
        while i + 8 <= headDim {
            let width = min(8, (headDim - i) / 8)
            var acc = InlineArray<8, SIMD8<Float>>(repeating: SIMD8())
            for t in 0..<positions {
                let p = SIMD8<Float>(repeating: att[t])
                let row = v + 4 * (t * headDim + i)
                for j in 0..<8 where j < width {
                    acc[j] = acc[j] + p * row.loadUnaligned(fromByteOffset: 32 * j, as: SIMD8<Float>.self)
                }
            }
            for j in 0..<8 where j < width {
                UnsafeMutableRawPointer(o).storeBytes(of: acc[j], toByteOffset: 4 * (i + 8 * j), as: SIMD8<Float>.self)
            }
            i += 8 * width
        }
        while i < headDim {
            var acc: Float = 0
            for t in 0..<positions { acc = acc + att[t] * vh[t * headDim + i] }
            o[i] = acc
            i += 1
        }
    }
}

/// Activation buffers and the KV cache, allocated once per transformer: nothing is allocated
/// in the token loop.
final class RunState {
    let x, xb, xb2, hb, hb2, q, k, v, att, logits: UnsafeMutablePointer<Float>
    let keyCache, valueCache: UnsafeMutablePointer<Float>   // (layer, kv head, position, head_dim)
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
        q = buffer(qDim); k = buffer(c.kvDim); v = buffer(c.kvDim)
        att = buffer(c.headCount * contextLength)
        logits = buffer(c.vocabSize)
        keyCache = buffer(c.layerCount * contextLength * c.kvDim)
        valueCache = buffer(c.layerCount * contextLength * c.kvDim)
        all = [x, xb, xb2, hb, hb2, q, k, v, att, logits, keyCache, valueCache]
    }

    deinit {
        for p in all { p.deallocate() }
    }
}
