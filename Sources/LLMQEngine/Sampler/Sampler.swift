/// Picks the next token from logits as run.c does: greedy at temperature 0, otherwise softmax of
/// logits/temperature and either plain multinomial sampling or nucleus (top-p) sampling.
public struct Sampler {
    public let vocabSize: Int
    public let temperature: Float
    public let topP: Float
    public var rng: XorShiftRNG
    private var candidates: [(index: Int, prob: Float)]

    public init(vocabSize: Int, temperature: Float, topP: Float, seed: UInt64) {
        self.vocabSize = vocabSize
        self.temperature = temperature
        self.topP = topP
        rng = XorShiftRNG(seed: seed)
        candidates = []
        candidates.reserveCapacity(vocabSize)
    }

    /// Consumes the logits (they are scaled and softmaxed in place).
    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int {
        let n = vocabSize
        let p = logits.baseAddress!
        if temperature == 0 { return Ops.argmax(p, n) }
        for i in 0..<n { p[i] /= temperature }
        Ops.softmax(p, n)
        let coin = rng.nextFloat()
        if topP <= 0 || topP >= 1 { return sampleMultinomial(p, coin) }
        return sampleTopP(p, coin)
    }

    private func sampleMultinomial(_ probs: UnsafeMutablePointer<Float>, _ coin: Float) -> Int {
        var cdf: Float = 0
        for i in 0..<vocabSize {
            cdf += probs[i]
            if coin < cdf { return i }
        }
        return vocabSize - 1
    }

    /// Samples among the smallest set of tokens whose probability exceeds topP. Tokens below
    /// (1 - topP) / (n - 1) cannot be in that set and are dropped before sorting, as in run.c.
    private mutating func sampleTopP(_ probs: UnsafeMutablePointer<Float>, _ coin: Float) -> Int {
        let cutoff = (1 - topP) / Float(vocabSize - 1)
        candidates.removeAll(keepingCapacity: true)
        for i in 0..<vocabSize where probs[i] >= cutoff { candidates.append((i, probs[i])) }
        // run.c's qsort is not stable; ties between exactly equal probabilities are vanishingly rare.
        candidates.sort { $0.prob > $1.prob }
        var cumulative: Float = 0
        var last = candidates.count - 1
        for i in 0..<candidates.count {
            cumulative += candidates[i].prob
            if cumulative > topP { last = i; break }
        }
        let r = coin * cumulative
        var cdf: Float = 0
        for i in 0...last {
            cdf += candidates[i].prob
            if r < cdf { return candidates[i].index }
        }
        return candidates[last].index
    }
}
