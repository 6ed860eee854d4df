import LLMQCore

/// The forward pass one layer at a time over hidden states the caller keeps: what GPTQ's
/// layer-by-layer walk runs, so that it needs one layer's input statistics at a time. The layer
/// itself is `forward(tokens:)`'s own code, so the hidden states and the observed inputs are the
/// same bits.
extension Transformer {
    /// The embeddings of `tokens`, one row of `dim` per token, written at `x`.
    public func embed<Tokens: Collection<Int>>(_ tokens: Tokens, into x: UnsafeMutablePointer<Float>) {
        for (i, token) in tokens.enumerated() {
            precondition(token >= 0 && token < config.vocabSize, "token \(token) is outside the vocabulary")
            weights.embed(token, into: x + i * config.dim)
        }
    }

    /// Runs layer `l` over the `count` hidden states at `x` (positions `startPos ..< startPos +
    /// count`, rows of `dim`) in place. Keys and values go to the first layer's cache slot, which
    /// every layer reuses: the walk runs one layer over one chunk at a time, so the cache holds
    /// that chunk's earlier positions of this layer.
    public func forwardLayer(_ l: Int, _ x: UnsafeMutablePointer<Float>, count: Int, startPos: Int) {
        precondition(count > 0 && startPos >= 0 && startPos + count <= contextLength,
                     "positions \(startPos)..<\(startPos + count) are outside the context of \(contextLength)")
        let dim = config.dim
        batch.reserve(rows: count)
        batch.x.update(from: x, count: count * dim)
        runLayer(l, count: count, startPos: startPos, cacheLayer: 0)
        x.update(from: batch.x, count: count * dim)
    }

    /// Shows the observer the classifier's input for the `count` final hidden states at `x` (the
    /// output norm of each), as `forward(tokens:)` does before the classifier.
    public func observeClassifierInput(_ x: UnsafePointer<Float>, count: Int) {
        let c = config, dim = c.dim, outputNorm = weights.outputNorm
        batch.reserve(rows: count)
        let normed = batch.x
        normed.update(from: x, count: count * dim)
        matvec.pool.parallelFor(count, grain: max(1, 16384 / dim)) { rows in
            for i in rows { Ops.rmsnorm(normed + i * dim, normed + i * dim, outputNorm, dim, eps: c.normEpsilon) }
        }
        activationObserver?.observe(.classifier, normed, rows: count, width: dim)
    }
}
