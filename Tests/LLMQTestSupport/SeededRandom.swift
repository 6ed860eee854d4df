import Foundation

/// Deterministic test data: a 64-bit linear congruential generator (Knuth's MMIX constants) whose
/// high bits are used, so a failing case reproduces from its seed.
public struct SeededRandom {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }

    /// Uniform in [0, 1).
    public mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * logf(u1)).squareRoot() * cosf(2 * .pi * u2)
    }

    /// Uniform in 0..<n.
    public mutating func index(_ n: Int) -> Int { Int((next() >> 33) % UInt64(n)) }
}
