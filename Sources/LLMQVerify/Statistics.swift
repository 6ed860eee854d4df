#if canImport(Glibc)
import Glibc
#endif

/// A measured value and its standard uncertainty (one standard error).
public struct Estimate: Codable, Sendable, Equatable {
    public var value: Double
    public var uncertainty: Double

    public init(_ value: Double, _ uncertainty: Double) {
        self.value = value
        self.uncertainty = uncertainty
    }

    /// The same estimate in percent.
    public var percent: Estimate { Estimate(100 * value, 100 * uncertainty) }
}

/// Sample statistics in Double, as llama.cpp's perplexity tool computes them: the uncertainty of a
/// mean is the standard error √(var / (n − 1)) with the population variance.
enum Stats {
    static func mean(_ xs: [Double]) -> Double {
        xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count)
    }

    /// Population variance (divided by n).
    static func variance(_ xs: [Double]) -> Double {
        let m = mean(xs)
        return xs.isEmpty ? 0 : xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count)
    }

    static func covariance(_ a: [Double], _ b: [Double]) -> Double {
        let ma = mean(a), mb = mean(b)
        var sum = 0.0
        for i in a.indices { sum += (a[i] - ma) * (b[i] - mb) }
        return a.isEmpty ? 0 : sum / Double(a.count)
    }

    /// Standard error of the mean; 0 for fewer than two samples.
    static func standardError(variance: Double, count: Int) -> Double {
        count > 1 ? (max(variance, 0) / Double(count - 1)).squareRoot() : 0
    }

    static func meanEstimate(_ xs: [Double]) -> Estimate {
        Estimate(mean(xs), standardError(variance: variance(xs), count: xs.count))
    }

    /// The fraction of true values, with the binomial standard error.
    static func proportion(_ hits: Int, of count: Int) -> Estimate {
        guard count > 0 else { return Estimate(0, 0) }
        let p = Double(hits) / Double(count)
        return Estimate(p, standardError(variance: p * (1 - p), count: count))
    }

    /// Pearson's correlation; 1 when both series are constant and equal in shape (no spread to compare).
    static func pearson(_ a: [Double], _ b: [Double]) -> Double {
        let va = variance(a), vb = variance(b)
        guard va > 0, vb > 0 else { return a == b ? 1 : 0 }
        return covariance(a, b) / (va * vb).squareRoot()
    }

    /// The q-quantile (0...1) of ascending `sorted` values, interpolating linearly between order
    /// statistics (numpy's default).
    static func quantile(sorted: [Double], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let h = q * Double(sorted.count - 1)
        let lo = Int(h.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}
