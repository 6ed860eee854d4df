import LLMQCore

extension Transformer {
    /// Runs `tokens` at positions `startPos ..< startPos + tokens.count` with one pass over the
    /// weights per layer (matrix–matrix products through `MatVec.batched`), fills the KV cache as
    /// that many `forward(token:pos:)` calls would, and returns the logits of every position:
    /// `tokens.count × vocab` values, row i for position `startPos + i`, valid until the next call.
    /// Positions before `startPos` must already be in the cache (from either forward path).
    /// With `computeLogits: false` the block only fills the cache (the classifier, often the
    /// largest matrix, is skipped) and the result is empty.
    @discardableResult
    public func forward<Tokens: Collection<Int>>(tokens: Tokens, startPos: Int,
                                                 computeLogits: Bool = true) -> UnsafeMutableBufferPointer<Float> {
        let n = tokens.count
        precondition(n > 0, "a batch needs at least one token")
        precondition(startPos >= 0 && startPos + n <= contextLength,
                     "positions \(startPos)..<\(startPos + n) are outside the context of \(contextLength)")
        let c = config, w = weights, b = batch, pool = matvec.pool
        let dim = c.dim
        b.reserve(rows: n)
        let x = b.x
        for (i, token) in tokens.enumerated() {
            precondition(token >= 0 && token < c.vocabSize, "token \(token) is outside the vocabulary")
            w.embed(token, into: x + i * dim)
        }
        for l in w.layers.indices { runLayer(l, count: n, startPos: startPos, cacheLayer: l) }
        guard computeLogits else { return UnsafeMutableBufferPointer(start: b.logits, count: 0) }
        let normGrain = max(1, 16384 / dim)
        pool.parallelFor(n, grain: normGrain) { rows in
            for i in rows { Ops.rmsnorm(x + i * dim, x + i * dim, w.outputNorm, dim, eps: c.normEpsilon) }
        }
        activationObserver?.observe(.classifier, x, rows: n, width: dim)
        matvec.batched(w.classifier, x, count: n, b.logits)
        return UnsafeMutableBufferPointer(start: b.logits, count: n * c.vocabSize)
    }

    /// Layer `l` over the batch's `n` rows of `x` in place, keys and values in the cache of layer
    /// `cacheLayer` (positions before `startPos` already there). `forward(tokens:)` and the
    /// layer-by-layer walk (`forwardLayer`) both run this, so they compute the same bits.
    func runLayer(_ l: Int, count n: Int, startPos: Int, cacheLayer: Int) {
        let c = config, b = batch, pool = matvec.pool, layer = weights.layers[l]
        let dim = c.dim, kvDim = c.kvDim, hidden = c.hiddenDim, qDim = c.headCount * c.headDim
        let x = b.x, xb = b.xb, xb2 = b.xb2, hb = b.hb, hb2 = b.hb2, q = b.q, k = b.k, v = b.v
        // Row-wise element work costs little per row; split it only when there are many rows.
        func eachRow(grain: Int, _ body: (Int) -> Void) {
            pool.parallelFor(n, grain: grain) { rows in for i in rows { body(i) } }
        }
        let normGrain = max(1, 16384 / dim), hiddenGrain = max(1, 4096 / hidden)

        eachRow(grain: normGrain) { i in Ops.rmsnorm(xb + i * dim, x + i * dim, layer.attnNorm, dim, eps: c.normEpsilon) }
        activationObserver?.observe(.attention(layer: l), xb, rows: n, width: dim)
        matvec.batched(layer.wq, xb, count: n, q)
        matvec.batched(layer.wk, xb, count: n, k)
        matvec.batched(layer.wv, xb, count: n, v)
        eachRow(grain: normGrain) { i in
            rope.apply(q + i * qDim, heads: c.headCount, position: startPos + i, rotateHalf: layer.rotateHalf)
            rope.apply(k + i * kvDim, heads: c.kvHeadCount, position: startPos + i, rotateHalf: layer.rotateHalf)
        }
        KVCacheLayer(transformer: self, layer: cacheLayer).store(keys: k, values: v, from: startPos, count: n)

        batchedAttention(layer: cacheLayer, startPos: startPos, count: n, out: xb)
        activationObserver?.observe(.attentionOutput(layer: l), xb, rows: n, width: qDim)
        matvec.batched(layer.wo, xb, count: n, xb2)
        eachRow(grain: normGrain) { i in Ops.add(x + i * dim, xb2 + i * dim, dim) }

        eachRow(grain: normGrain) { i in Ops.rmsnorm(xb + i * dim, x + i * dim, layer.ffnNorm, dim, eps: c.normEpsilon) }
        activationObserver?.observe(.feedForward(layer: l), xb, rows: n, width: dim)
        matvec.batched(layer.gate, xb, count: n, hb)
        matvec.batched(layer.up, xb, count: n, hb2)
        eachRow(grain: hiddenGrain) { i in Ops.swiglu(hb + i * hidden, hb2 + i * hidden, hidden) }
        activationObserver?.observe(.feedForwardDown(layer: l), hb, rows: n, width: hidden)
        matvec.batched(layer.down, hb, count: n, xb)
        eachRow(grain: normGrain) { i in Ops.add(x + i * dim, xb + i * dim, dim) }
    }

    /// Causal attention for every (position, head) of the block: position `startPos + i` attends to
    /// cached positions 0...startPos + i. Work items — 8 positions of one head when the head size
    /// allows `BlockAttention`, else one position of one head — are dealt round-robin to one task
    /// per thread, which balances the growing cost of later positions; each task owns its scratch.
    private func batchedAttention(layer l: Int, startPos: Int, count n: Int, out: UnsafeMutablePointer<Float>) {
        let c = config, b = batch
        let heads = c.headCount, headDim = c.headDim, qDim = heads * headDim
        let groupSize = heads / c.kvHeadCount
        let cache = KVCacheLayer(transformer: self, layer: l)
        let blockWidth = headDim % 8 == 0 ? 8 : 1
        let blocks = (n + blockWidth - 1) / blockWidth
        let items = blocks * heads
        // Multiply-adds of the whole block; below ~64K a hand-off costs more than it saves.
        let work = heads * headDim * (n * startPos + n * (n + 1) / 2)
        let tasks = work < 65536 ? 1 : min(b.scratchRows, items)
        let q = b.q
        matvec.pool.parallelFor(tasks, grain: 1) { taskRange in
            for task in taskRange {
                let scratch = b.scratch + task * b.scratchPerTask
                var item = task
                while item < items {
                    let i = (item / heads) * blockWidth, h = item % heads
                    let offset = i * qDim + h * headDim
                    if blockWidth == 8 {
                        BlockAttention.attend(cache, kvHead: h / groupSize, queries: q + offset, out: out + offset, stride: qDim,
                                              firstPos: startPos + i, count: min(8, n - i), scratch: scratch)
                    } else {
                        cache.attend(query: q + offset, kvHead: h / groupSize, positions: startPos + i + 1, scratch: scratch, out: out + offset)
                    }
                    item += tasks
                }
            }
        }
    }
}

/// Activations of a batch of positions (row-major, one row per position) carved from one
/// allocation that is regrown only when a larger batch arrives.
final class BatchState {
    let config: ModelConfig
    let contextLength: Int
    /// Attention scratch, one slice per parallel task.
    let scratchRows: Int
    let scratchPerTask: Int
    let scratch: UnsafeMutablePointer<Float>        // (task, scratchPerTask)
    private(set) var capacity = 0
    private var storage: UnsafeMutablePointer<Float>
    private(set) var x, xb, xb2, q: UnsafeMutablePointer<Float>   // (row, dim)
    private(set) var k, v: UnsafeMutablePointer<Float>            // (row, kv_dim)
    private(set) var hb, hb2: UnsafeMutablePointer<Float>         // (row, hidden)
    private(set) var logits: UnsafeMutablePointer<Float>          // (row, vocab)

    init(config: ModelConfig, contextLength: Int, threads: Int) {
        self.config = config
        self.contextLength = contextLength
        scratchRows = max(1, threads)
        scratchPerTask = BlockAttention.scratchFloats(contextLength: contextLength, headDim: config.headDim)
        scratch = .allocate(capacity: scratchRows * scratchPerTask)
        storage = .allocate(capacity: 1)
        (x, xb, xb2, q, k, v, hb, hb2, logits) = (storage, storage, storage, storage, storage, storage, storage, storage, storage)
    }

    deinit {
        storage.deallocate()
        scratch.deallocate()
    }

    /// Makes room for `rows` positions.
    func reserve(rows: Int) {
        guard rows > capacity else { return }
        let c = config
        // headCount·headDim equals dim (validated), so Q and the attention output fit dim-wide rows.
        let perRow = 4 * c.dim + 2 * c.kvDim + 2 * c.hiddenDim + c.vocabSize
        storage.deallocate()
        storage = .allocate(capacity: rows * perRow)
        x = storage
        xb = x + rows * c.dim
        xb2 = xb + rows * c.dim
        q = xb2 + rows * c.dim
        k = q + rows * c.dim
        v = k + rows * c.kvDim
        hb = v + rows * c.kvDim
        hb2 = hb + rows * c.hiddenDim
        logits = hb2 + rows * c.hiddenDim
        capacity = rows
    }
}
