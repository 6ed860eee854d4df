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
    /// Positions where both models' most likely token is the same, %.
    public var sameTopPercent: Estimate
    /// Share of the reference's 5 most likely tokens among the candidate's 5, %.
    public var top5OverlapPercent: Estimate
    /// p_candidate − p_reference of the token that follows, in percentage points.
    public var deltaPMeanPercent: Estimate
    public var deltaPRMSPercent: Estimate
    /// Pearson correlation of the two models' probabilities of the token that follows.
    public var probabilityCorrelation: Double

    init(_ samples: [TokenSample], kldMethod: String) {
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
