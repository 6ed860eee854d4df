import Foundation

/// Quality thresholds a candidate must meet; unset ones are not checked.
public struct Gates: Codable, Sendable, Equatable {
    /// Largest acceptable mean KL(reference ‖ candidate).
    public var maxKLD: Double?
    /// Largest acceptable PPL increase over the reference, in percent (PPL ratio − 1).
    public var maxPPLIncreasePercent: Double?
    /// Smallest acceptable same-top-token rate, in percent.
    public var minTop1Percent: Double?

    public init(maxKLD: Double? = nil, maxPPLIncreasePercent: Double? = nil, minTop1Percent: Double? = nil) {
        self.maxKLD = maxKLD
        self.maxPPLIncreasePercent = maxPPLIncreasePercent
        self.minTop1Percent = minTop1Percent
    }

    public struct Result: Codable, Sendable, Equatable {
        public var gate: String
        public var measured: Double
        /// "≤" or "≥": how `measured` must relate to `threshold`.
        public var relation: String
        public var threshold: Double
        public var passed: Bool

        public var description: String {
            "\(gate) = \(Self.format(measured)) (must be \(relation) \(Self.format(threshold))): \(passed ? "pass" : "FAIL")"
        }

        static func format(_ x: Double) -> String {
            let digits = abs(x) >= 100 ? 2 : abs(x) >= 1 ? 4 : 6
            return String(format: "%.\(digits)f", x)
        }
    }

    public func check(_ c: LogitComparison) -> [Result] {
        var results: [Result] = []
        if let maxKLD {
            results.append(Result(gate: "mean KLD", measured: c.kld.mean.value, relation: "≤", threshold: maxKLD,
                                  passed: c.kld.mean.value <= maxKLD))
        }
        if let maxPPLIncreasePercent {
            let increase = 100 * (c.pplRatio.value - 1)
            results.append(Result(gate: "PPL increase %", measured: increase, relation: "≤", threshold: maxPPLIncreasePercent,
                                  passed: increase <= maxPPLIncreasePercent))
        }
        if let minTop1Percent {
            results.append(Result(gate: "same top-1 %", measured: c.sameTopPercent.value, relation: "≥", threshold: minTop1Percent,
                                  passed: c.sameTopPercent.value >= minTop1Percent))
        }
        return results
    }
}
