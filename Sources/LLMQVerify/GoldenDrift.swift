/// How far a fresh verify report may move from a golden one before it counts as drift. Kernel
/// changes that only reorder float sums move the figures far less than this; a conversion or kernel
/// that loses accuracy moves them far more.
public struct DriftTolerance: Sendable {
    /// Relative, on each model's PPL.
    public var perplexity = 1e-4
    /// Relative, on every KLD statistic and on Δp RMS (plus 1e-7 absolute for near-zero values).
    public var divergence = 0.02
    /// Absolute, in percentage points, on same top-1, top-5 overlap and mean Δp.
    public var percentagePoints = 0.5
    /// Absolute, on the two correlations.
    public var correlation = 1e-4
    /// Relative, on every uncertainty.
    public var uncertainty = 0.05
    /// Per tensor: relative on RMSE, absolute dB on SNR.
    public var rmse = 1e-3
    public var snrDB = 0.01

    public init() {}
}

extension VerifyReport {
    /// One line per figure of `golden` that this report has moved beyond `tolerance`; empty when none has.
    public func drift(from golden: VerifyReport, tolerance t: DriftTolerance = DriftTolerance()) -> [String] {
        var out: [String] = []
        func check(_ name: String, _ fresh: Double, _ old: Double, relative: Double = 0, absolute: Double = 0) {
            let allowed = absolute + relative * abs(old)
            if !(abs(fresh - old) <= allowed) { out.append("\(name): \(fresh), golden \(old) (allowed ± \(allowed))") }
        }
        func check(_ name: String, _ fresh: Estimate, _ old: Estimate, relative: Double = 0, absolute: Double = 0) {
            check(name, fresh.value, old.value, relative: relative, absolute: absolute)
            check(name + " ±", fresh.uncertainty, old.uncertainty, relative: t.uncertainty, absolute: 1e-9)
        }
        if plan != golden.plan { out.append("settings: \(scoring), golden \(golden.scoring)") }
        let c = comparison, g = golden.comparison
        if c.scoredTokens != g.scoredTokens { out.append("scored tokens: \(c.scoredTokens), golden \(g.scoredTokens)") }
        check("PPL reference", c.referencePPL, g.referencePPL, relative: t.perplexity)
        check("PPL candidate", c.candidatePPL, g.candidatePPL, relative: t.perplexity)
        // Differences of nearly equal PPLs: allowed the drift of the PPLs themselves.
        check("ΔPPL", c.pplDelta.value, g.pplDelta.value, absolute: 2 * t.perplexity * g.candidatePPL.value)
        check("ln(PPL ratio)", c.lnPPLRatio.value, g.lnPPLRatio.value, absolute: 2 * t.perplexity)
        check("Cor(NLL)", c.nllCorrelation, g.nllCorrelation, absolute: t.correlation)
        check("KLD mean", c.kld.mean, g.kld.mean, relative: t.divergence, absolute: 1e-7)
        check("KLD median", c.kld.median, g.kld.median, relative: t.divergence, absolute: 1e-7)
        check("KLD p90", c.kld.p90, g.kld.p90, relative: t.divergence, absolute: 1e-7)
        check("KLD p99", c.kld.p99, g.kld.p99, relative: t.divergence, absolute: 1e-7)
        check("KLD max", c.kld.max, g.kld.max, relative: t.divergence, absolute: 1e-7)
        check("same top-1 %", c.sameTopPercent.value, g.sameTopPercent.value, absolute: t.percentagePoints)
        check("top-5 overlap %", c.top5OverlapPercent.value, g.top5OverlapPercent.value, absolute: t.percentagePoints)
        check("Δp mean %", c.deltaPMeanPercent.value, g.deltaPMeanPercent.value, absolute: t.percentagePoints)
        check("Δp RMS %", c.deltaPRMSPercent, g.deltaPRMSPercent, relative: t.divergence, absolute: 1e-7)
        check("Cor(p)", c.probabilityCorrelation, g.probabilityCorrelation, absolute: t.correlation)

        let fresh = tensors ?? [], old = golden.tensors ?? []
        if fresh.map(\.name).sorted() != old.map(\.name).sorted() {
            out.append("differing tensors: \(fresh.count), golden \(old.count)")
        } else {
            let byName = Dictionary(uniqueKeysWithValues: fresh.map { ($0.name, $0) })
            for o in old {
                guard let f = byName[o.name] else { continue }
                check("\(o.name) RMSE", f.rmse, o.rmse, relative: t.rmse)
                check("\(o.name) SNR dB", f.snrDB, o.snrDB, absolute: t.snrDB)
            }
        }
        return out
    }
}
