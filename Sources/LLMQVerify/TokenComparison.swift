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
    /// A saved reference's tail mass where it exceeds the file's bound (else 0), how far `kld` can
    /// then be from the exact divergence at most, and the variance of its estimate from tail samples.
    var uncoveredTail = 0.0
    var kldErrorBound = 0.0
    var kldVariance = 0.0
}

/// What a saved reference keeps of one position's distribution: the log-probability of the token
/// that follows, the most likely tokens with theirs, the log of the mass of all others (the tail)
/// and, when that mass is above the file's bound, tokens drawn from the tail with theirs.
public struct ReferenceSummary: Sendable, Equatable {
    public var targetLogProb: Float
    /// log of the probability outside `ids`; −∞ when they cover the vocabulary.
    public var tailLogProb: Float
    /// Most likely first.
    public var ids: [Int]
    public var logProbs: [Float]
    /// Tokens outside `ids` drawn systematically from the tail's distribution (`LogitRow.tailSamples`).
    public var sampleIDs: [Int]
    public var sampleLogProbs: [Float]

    public init(targetLogProb: Float, tailLogProb: Float, ids: [Int], logProbs: [Float], sampleIDs: [Int] = [],
                sampleLogProbs: [Float] = []) {
        self.targetLogProb = targetLogProb
        self.tailLogProb = tailLogProb
        self.ids = ids
        self.logProbs = logProbs
        self.sampleIDs = sampleIDs
        self.sampleLogProbs = sampleLogProbs
    }

    /// Keeps the fewest most likely tokens that leave at most `tailMass` outside, but at least
    /// `TokenComparison.overlapWidth` and at most `maxKept`; when more than `tailMass` is left,
    /// draws `sampleCount(tailMass: P, rate: sampleRate)` tokens from the rest.
    init(_ row: LogitRow, target: Int, maxKept: Int, tailMass: Double, sampleRate: Int) {
        let top = row.mostLikely(leaving: tailMass, minimum: min(TokenComparison.overlapWidth, row.count), maximum: maxKept)
        let sorted = top.sorted()
        let tail = row.logSumExp(excludingSorted: sorted) - row.logSumExp
        let count = exp(tail) > tailMass ? Self.sampleCount(tailMass: exp(tail), rate: sampleRate) : 0
        let samples = row.tailSamples(excludingSorted: sorted, count: count)
        self.init(targetLogProb: Float(row.logProb(target)), tailLogProb: Float(tail),
                  ids: top, logProbs: top.map { Float(row.logProb($0)) },
                  sampleIDs: samples, sampleLogProbs: samples.map { Float(row.logProb($0)) })
    }

    /// Tokens drawn from a tail of probability `tailMass`: `rate` per unit of it, at least 16 (none
    /// when `rate` is 0). An estimate's noise then grows as √tailMass, not as tailMass.
    public static func sampleCount(tailMass: Double, rate: Int) -> Int {
        rate == 0 ? 0 : max(16, Int((tailMass * Double(rate)).rounded(.up)))
    }

    /// The tail's mass is above `bound` beyond what storing its log as float32 can explain.
    func tailExceeds(_ bound: Double) -> Bool {
        Double(tailLogProb) > log(bound) + 1e-5
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

    /// A saved reference: the divergence sums the listed tokens exactly. The unlisted ones (the
    /// tail, mass P for the reference and Q for the candidate) add P·KL(p̂ ‖ q̂) + P·log(P/Q), p̂ and
    /// q̂ the two tails normalised. Without samples KL(p̂ ‖ q̂) counts as 0, which by the log-sum
    /// inequality never exceeds the exact value. With samples drawn from p̂ it is estimated as the
    /// mean of φ(w) = w − 1 − log w, w = q̂/p̂ at each sample: since the mean of w under p̂ is exactly
    /// 1, that is the mean of −log w = log(p̂/q̂) with its first-order noise removed, never below 0,
    /// and exact for a candidate equal to the reference. Where the tail holds more than
    /// `tailBound`, the sample also carries the estimate's variance and its worst-case error.
    static func summarized(reference: ReferenceSummary, candidate: LogitRow, target: Int, tailBound: Double) -> TokenSample {
        // The candidate's log-probabilities are rounded to float32 as the stored ones were, so a
        // candidate equal to the reference gives exactly 0.
        func candidateLogProb(_ id: Int) -> Double { Double(Float(candidate.logProb(id))) }
        let candTop = candidate.top(overlapWidth)
        var kld = 0.0
        for (id, lp) in zip(reference.ids, reference.logProbs) {
            let p = Double(lp)
            kld += exp(p) * (p - candidateLogProb(id))
        }
        var uncovered = 0.0, errorBound = 0.0, variance = 0.0
        if reference.tailLogProb > -.infinity {
            let kept = reference.ids.sorted()
            let logP = Double(reference.tailLogProb), mass = exp(logP)
            let logQ = Double(Float(candidate.logSumExp(excludingSorted: kept) - candidate.logSumExp))
            let lumped = mass * (logP - logQ)
            var within = 0.0
            if !reference.sampleIDs.isEmpty {
                let phis = zip(reference.sampleIDs, reference.sampleLogProbs).map { id, lp in
                    let logW = (candidateLogProb(id) - logQ) - (Double(lp) - logP)
                    return exp(logW) - 1 - logW
                }
                let m = Double(phis.count)
                within = phis.reduce(0, +) / m
                if phis.count > 1 {
                    variance = mass * mass * phis.reduce(0) { $0 + ($1 - within) * ($1 - within) } / (m - 1) / m
                }
            }
            kld += lumped + mass * within
            if reference.tailExceeds(tailBound) {
                // Every unlisted token is at most as likely as the least likely listed one.
                let worst = candidate.worstTailDivergence(excludingSorted: kept, mass: mass, cap: exp(Double(reference.logProbs.last!)))
                uncovered = mass
                errorBound = max(worst - lumped - mass * within, mass * within)
            } else {
                variance = 0
            }
        }
        let refLP = Double(reference.targetLogProb), candLP = candidateLogProb(target)
        let refTop = Array(reference.ids.prefix(overlapWidth))
        return TokenSample(referenceNLL: -refLP, candidateNLL: -candLP, kld: kld,
                           sameTop: refTop.first == candTop.first, topOverlap: overlap(refTop, candTop),
                           referenceP: exp(refLP), candidateP: exp(candLP), uncoveredTail: uncovered, kldErrorBound: errorBound,
                           kldVariance: variance)
    }

    private static func overlap(_ a: [Int], _ b: [Int]) -> Int {
        a.reduce(0) { $0 + (b.contains($1) ? 1 : 0) }
    }
}
