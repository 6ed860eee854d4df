import Foundation

/// SplitMix64: a tiny, fast, well-distributed generator. Synthetic models, benchmarks and tests
/// draw from it so that a seed fully determines their data.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Uniform in 0..<n (the modulo's bias, below n / 2⁶⁴, does not matter for test data).
    public mutating func index(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// Standard normal by Box–Muller.
    public mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return sqrtf(-2 * logf(u1)) * cosf(2 * .pi * u2)
    }
}
