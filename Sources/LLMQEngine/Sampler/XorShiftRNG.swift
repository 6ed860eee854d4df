/// run.c's xorshift* generator, so a seed gives the same stream of coins as llama2.c.
public struct XorShiftRNG: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func nextU32() -> UInt32 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return UInt32(truncatingIfNeeded: (state &* 0x2545_F491_4F6C_DD1D) >> 32)
    }

    /// A float in [0, 1) with 24 random bits.
    public mutating func nextFloat() -> Float {
        Float(nextU32() >> 8) / 16_777_216.0
    }
}
