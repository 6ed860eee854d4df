#if canImport(Glibc)
import Glibc
#endif

/// How a candidate's next-token distributions differ from a reference's over the same scored
/// tokens: llama.cpp's `perplexity --kl-divergence` statistics and a few more. Percentages are
/// 0...100; every mean carries its standard error.
public struct LogitComparison: Codable, Sendable {
    public struct Distribution: Codable, Sendable {
        public var mean: Estimate
        public var median: Double
        public var p90: Double
        public var p99: Double
        public var max: Double
    }

    public var scoredTokens: Int
    public var referencePPL: Estimate
    public var candidatePPL: Estimate
    /// PPL(candidate) − PPL(reference); the uncertainty accounts for the two being correlated.
    public var pplDelta: Estimate
    /// mean(NLL_candidate − NLL_reference) = ln(PPL ratio).
    public var lnPPLRatio: Estimate
    public var pplRatio: Estimate
    /// Pearson correlation of the two models' per-token NLLs.
    public var nllCorrelation: Double
    /// KL(reference ‖ candidate) per token.
    public var kld: Distribution
    /// How KLD was computed: exactly over the vocabulary, or from a saved reference's top tokens.
    public var kldMethod: String
    /// The positions where a saved reference kept less than its bound promises, and what that can
    /// do to the KLD figures; nil when it kept enough everywhere (and for a live reference).
    public var uncoveredTail: UncoveredTail?
    /// Positions where both models' most likely token is the same, %.
    public var sameTopPercent: Estimate
    /// Share of the reference's 5 most likely tokens among the candidate's 5, %.
    public var top5OverlapPercent: Estimate
    /// p_candidate − p_reference of the token that follows, in percentage points.
    public var deltaPMeanPercent: Estimate
    public var deltaPRMSPercent: Estimate
    /// Pearson correlation of the two models' probabilities of the token that follows.
    public var probabilityCorrelation: Double

    init(_ samples: [TokenSample], kldMethod: String, uncoveredTail: UncoveredTail? = nil) {
        let refNLL = samples.map(\.referenceNLL), candNLL = samples.map(\.candidateNLL)
        let n = samples.count
        scoredTokens = n
        let refMean = Stats.meanEstimate(refNLL), candMean = Stats.meanEstimate(candNLL)
        referencePPL = PerplexityResult.perplexity(refMean)
        candidatePPL = PerplexityResult.perplexity(candMean)
        // Covariance of the two means, so shared per-token difficulty cancels out of the differences.
        let covMeans = n > 1 ? Stats.covariance(refNLL, candNLL) / Double(n - 1) : 0
        let pr = referencePPL.value, pc = candidatePPL.value
        let deltaVariance = pc * pc * candMean.uncertainty * candMean.uncertainty + pr * pr * refMean.uncertainty * refMean.uncertainty
            - 2 * pc * pr * covMeans
        pplDelta = Estimate(pc - pr, max(deltaVariance, 0).squareRoot())
        lnPPLRatio = Stats.meanEstimate(zip(candNLL, refNLL).map { $0 - $1 })
        let ratio = exp(lnPPLRatio.value)
        pplRatio = Estimate(ratio, ratio * lnPPLRatio.uncertainty)
        nllCorrelation = Stats.pearson(refNLL, candNLL)

        let klds = samples.map(\.kld)
        let sorted = klds.sorted()
        kld = Distribution(mean: Stats.meanEstimate(klds), median: Stats.quantile(sorted: sorted, 0.5),
                           p90: Stats.quantile(sorted: sorted, 0.9), p99: Stats.quantile(sorted: sorted, 0.99), max: sorted.last ?? 0)
        self.kldMethod = kldMethod
        self.uncoveredTail = uncoveredTail
        sameTopPercent = Stats.proportion(samples.reduce(0) { $0 + ($1.sameTop ? 1 : 0) }, of: n).percent
        top5OverlapPercent = Stats.meanEstimate(samples.map { Double($0.topOverlap) / Double(TokenComparison.overlapWidth) }).percent

        let refP = samples.map(\.referenceP), candP = samples.map(\.candidateP)
        let deltas = zip(candP, refP).map { $0 - $1 }
        deltaPMeanPercent = Stats.meanEstimate(deltas).percent
        // RMS = √mean(Δp²); its uncertainty from that of mean(Δp²) by d√m = dm / (2√m).
        let squares = Stats.meanEstimate(deltas.map { $0 * $0 })
        let rms = squares.value.squareRoot()
        deltaPRMSPercent = Estimate(rms, rms > 0 ? squares.uncertainty / (2 * rms) : 0).percent
        probabilityCorrelation = Stats.pearson(refP, candP)
    }
}

/// Where a saved reference's unlisted tokens (its tail) hold more than the file's bound: it hit
/// `maxKept` first. There the tail's share of each KLD is estimated from tokens drawn from it
/// (version 2) or, without them, taken as its lower bound P·(log P − log Q) (version 1): see
/// `TokenComparison.summarized`. The error bounds are worst cases, whatever the tail holds: its mass
/// on the tokens the candidate finds least likely, each at most as likely as the least likely
/// listed token, against the lower bound.
public struct UncoveredTail: Codable, Sendable, Equatable {
    /// The file's bound on each position's tail mass (`tailMass`), its format version, and the
    /// tokens it drew per unit of probability of each tail above the bound (0: none, the tail's
    /// divergence counts as 0).
    public var bound: Double
    public var fileVersion: Int
    public var sampleRate: Int
    /// Scored positions whose tail holds more than `bound`, and the largest such tail.
    public var positions: Int
    public var worstTailMass: Double
    /// The most the mean KLD, and the KLD of any one position (so each percentile and the
    /// maximum), can be from the exact value.
    public var meanKLDErrorBound: Double
    public var maxKLDErrorBound: Double
    /// One standard error of the mean KLD from sampling the tails (0 without samples).
    public var meanKLDSampleError: Double

    /// nil when no position's tail exceeds the bound.
    init?(_ samples: [TokenSample], header: SavedReference.Header, fileVersion: UInt32) {
        let uncovered = samples.filter { $0.uncoveredTail > 0 }
        guard !uncovered.isEmpty else { return nil }
        bound = header.tailMass
        self.fileVersion = Int(fileVersion)
        sampleRate = header.tailSampleRate
        positions = uncovered.count
        worstTailMass = uncovered.map(\.uncoveredTail).max()!
        let n = Double(samples.count)
        meanKLDErrorBound = uncovered.reduce(0) { $0 + $1.kldErrorBound } / n
        maxKLDErrorBound = uncovered.map(\.kldErrorBound).max()!
        meanKLDSampleError = uncovered.reduce(0) { $0 + $1.kldVariance }.squareRoot() / n
    }
}
