import LLMQ

/// The text form of a verify report: llama.cpp-style statistics, the weight errors, the gates.
enum VerifyRendering {
    static let tensorRows = 12

    static func render(_ r: VerifyReport) -> String {
        let c = r.comparison
        var out = "reference: \(r.reference.path) (\(r.reference.format))\n"
        out += "candidate: \(r.candidate.path) (\(r.candidate.format); \(r.candidate.mode ?? "native kernels"))\n"
        if let text = r.text { out += "text: \(text)\n" }
        out += "scoring: \(r.scoring)\n\n"

        var table = TextTable(header: ["metric", "value", "±"])
        table.rightAligned = [1, 2]
        func row(_ name: String, _ e: Estimate, _ digits: Int, unit: String = "") {
            table.add([name, Format.fixed(e.value, digits) + unit, Format.fixed(e.uncertainty, digits) + unit])
        }
        func row(_ name: String, _ value: Double, _ digits: Int, unit: String = "") {
            table.add([name, Format.fixed(value, digits) + unit, ""])
        }
        row("PPL reference", c.referencePPL, 4)
        row("PPL candidate", c.candidatePPL, 4)
        row("ΔPPL", c.pplDelta, 4)
        row("ln(PPL ratio)", c.lnPPLRatio, 6)
        row("PPL ratio", c.pplRatio, 6)
        row("Cor(NLL)", 100 * c.nllCorrelation, 3, unit: " %")
        row("KLD mean", c.kld.mean, 6)
        row("KLD median", c.kld.median, 6)
        row("KLD p90", c.kld.p90, 6)
        row("KLD p99", c.kld.p99, 6)
        row("KLD max", c.kld.max, 6)
        row("same top-1", c.sameTopPercent, 3, unit: " %")
        row("top-5 overlap", c.top5OverlapPercent, 3, unit: " %")
        row("Δp mean", c.deltaPMeanPercent, 3, unit: " %")
        row("Δp RMS", c.deltaPRMSPercent, 3, unit: " %")
        row("Cor(p)", 100 * c.probabilityCorrelation, 3, unit: " %")
        out += table.render() + "\n"
        out += "KLD: \(c.kldMethod)\n"
        if let u = c.uncoveredTail { out += warning(u, of: c.scoredTokens) }

        if let tensors = r.tensors {
            out += "\n"
            if tensors.isEmpty {
                out += "weights: every tensor is identical\n"
            } else {
                var t = TextTable(header: ["tensor (worst first)", "reference", "candidate", "RMSE", "SNR dB"])
                t.rightAligned = [3, 4]
                for e in tensors.prefix(tensorRows) {
                    t.add([e.name, e.referenceDType, e.candidateDType, String(format: "%.3e", e.rmse), Format.fixed(e.snrDB, 2)])
                }
                out += t.render() + "\n"
                if tensors.count > tensorRows { out += "… \(tensors.count - tensorRows) more tensors differ (all in --json)\n" }
            }
        }
        if let seconds = r.seconds, let rate = r.tokensPerSecond {
            out += "\nspeed: \(Format.fixed(seconds, 2)) s, \(Format.fixed(rate, 1)) positions/s\n"
        }
        if !r.gates.isEmpty {
            out += "\ngates:\n" + r.gates.map { "  " + $0.description }.joined(separator: "\n") + "\n"
        }
        return out + (r.passed ? "result: PASS" : "result: FAIL")
    }

    /// What a saved reference could not keep, and how far that can move the KLD figures.
    static func warning(_ u: UncoveredTail, of scored: Int) -> String {
        let share = Format.fixed(100 * Double(u.positions) / Double(max(scored, 1)), 1)
        var out = "warning: at \(u.positions) of \(scored) positions (\(share) %) the saved reference leaves more than \(u.bound) "
            + "of the probability outside its listed tokens (at most \(Format.fixed(u.worstTailMass, 4))). "
        if u.sampleRate > 0 {
            out += "There the divergence within that tail is estimated from tokens drawn from it "
                + "(mean KLD ± \(Format.fixed(u.meanKLDSampleError, 6)), one standard error); "
        } else {
            out += "This version \(u.fileVersion) file has no samples of it, so the KLD figures are lower bounds; "
        }
        out += "whatever the tail holds, the mean KLD is within \(Format.fixed(u.meanKLDErrorBound, 6)) and any one "
            + "position's (so each percentile) within \(Format.fixed(u.maxKLDErrorBound, 6)) of the exact value. "
        return out + (u.fileVersion == 1 ? "Save the reference again: version 2 files sample such tails.\n"
                                         : "A larger --reference-max-kept narrows that.\n")
    }
}
