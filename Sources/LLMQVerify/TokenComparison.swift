#if canImport(Glibc)
import Glibc
#endif

/// What one scored position contributes to a comparison of two models.
struct TokenSample: Sendable {
    var referenceNLL = 0.0
    var candidateNLL = 0.0
    /// KL(reference ‖ candidate) of the next-token distributions.
    var kld = 0.0
    var sameTop = false
    /// How many of the reference's 5 most likely tokens are among the candidate's 5.
    var topOverlap = 0
    /// Probability each model gives the token that actually follows.
    var referenceP = 0.0
    var candidateP = 0.0
}

/// What a saved reference keeps of one position's distribution: the log-probability of the token
/// that follows, the most likely tokens with theirs, and the log of the mass of all others.
public struct ReferenceSummary: Sendable, Equatable {
    public var targetLogProb: Float
    /// log of the probability outside `ids`; −∞ when they cover the vocabulary.
    public var tailLogProb: Float
    /// Most likely first.
    public var ids: [Int]
    public var logProbs: [Float]

    public init(targetLogProb: Float, tailLogProb: Float, ids: [Int], logProbs: [Float]) {
        self.targetLogProb = targetLogProb
        self.tailLogProb = tailLogProb
        self.ids = ids
        self.logProbs = logProbs
    }

    /// Keeps the fewest most likely tokens that leave at most `tailMass` outside, but at least
    /// `TokenComparison.overlapWidth` and at most `maxKept`.
    init(_ row: LogitRow, target: Int, maxKept: Int, tailMass: Double) {
        var top = row.top(maxKept)
        var covered = 0.0
        for (n, id) in top.enumerated() {
            covered += exp(row.logProb(id))
            if n + 1 >= TokenComparison.overlapWidth, 1 - covered <= tailMass {
                top.removeSubrange((n + 1)...)
                break
            }
        }
        self.init(targetLogProb: Float(row.logProb(target)),
                  tailLogProb: Float(row.logSumExp(excludingSorted: top.sorted()) - row.logSumExp),
                  ids: top, logProbs: top.map { Float(row.logProb($0)) })
    }
}

enum TokenComparison {
    static let overlapWidth = 5

    /// Both full distributions: exact KL divergence over the vocabulary.
    static func exact(reference: LogitRow, candidate: LogitRow, target: Int) -> TokenSample {
        let refTop = reference.top(overlapWidth), candTop = candidate.top(overlapWidth)
        let refLP = reference.logProb(target), candLP = candidate.logProb(target)
        return TokenSample(referenceNLL: -refLP, candidateNLL: -candLP, kld: reference.divergence(from: candidate),
                           sameTop: refTop.first == candTop.first, topOverlap: overlap(refTop, candTop),
                           referenceP: exp(refLP), candidateP: exp(candLP))
    }

    /// A saved reference: the divergence sums the kept tokens exactly and treats the rest as one
    /// outcome on each side. By the log-sum inequality this never exceeds the exact value; the gap
    /// is the divergence within the tail, which carries at most the saved tail mass.
    static func summarized(reference: ReferenceSummary, candidate: LogitRow, target: Int) -> TokenSample {
        // The candidate's log-probabilities are rounded to float32 as the stored ones were, so a
        // candidate equal to the reference gives exactly 0.
        func candidateLogProb(_ id: Int) -> Double { Double(Float(candidate.logProb(id))) }
        let candTop = candidate.top(overlapWidth)
        var kld = 0.0
        for (id, lp) in zip(reference.ids, reference.logProbs) {
            let p = Double(lp)
            kld += exp(p) * (p - candidateLogProb(id))
        }
        if reference.tailLogProb > -.infinity {
            let pTail = Double(reference.tailLogProb)
            let qTail = Double(Float(candidate.logSumExp(excludingSorted: reference.ids.sorted()) - candidate.logSumExp))
            kld += exp(pTail) * (pTail - qTail)
        }
        let refLP = Double(reference.targetLogProb), candLP = candidateLogProb(target)
        let refTop = Array(reference.ids.prefix(overlapWidth))
        return TokenSample(referenceNLL: -refLP, candidateNLL: -candLP, kld: kld,
                           sameTop: refTop.first == candTop.first, topOverlap: overlap(refTop, candTop),
                           referenceP: exp(refLP), candidateP: exp(candLP))
    }

    private static func overlap(_ a: [Int], _ b: [Int]) -> Int {
        a.reduce(0) { $0 + (b.contains($1) ? 1 : 0) }
    }
}
