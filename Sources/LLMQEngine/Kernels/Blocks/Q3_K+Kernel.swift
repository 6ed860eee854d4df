import LLMQCore

/// x = d·(sc − 32)·(q − 4) with a 6-bit sc per 16 weights: the codes q = low two bits | third bit
/// << 2 (0…7), the halves' sc − 32 as multipliers and −4·d·(sc − 32) as their offsets.
extension Q3_K: BlockKernel {
    static var codeBits: Int { 3 }
    static var hasOffset: Bool { true }
    static var halves: Bool { true }

    static func rows(subBlocks k: Int) -> QuantizedRows { rows(Group256.self) }

    @inline(__always)
    static func blockBytes(subBlocks k: Int) -> Int { 110 }

    /// Sub-block j = 4h + i: bits 2i…2i+1 of the 32 bytes at 32 + 32h, and bit j of hmask's.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        let low = SuperBlocks.field(SuperBlocks.load(block, 32 + 32 * (j / 4)), shift: 2 * (j % 4), mask: 3)
        return SuperBlocks.combine(low, SuperBlocks.field(SuperBlocks.load(block, 0), shift: j, mask: 1), shift: 2)
    }

    @inline(__always)
    static func factors(_ block: UnsafeRawPointer, blockBytes: Int, subBlocks k: Int, count: Int) -> SubBlockFactors {
        let d = SuperBlocks.half(block, 108)
        let scales = SuperBlocks.signedScales(block + 96)
        let offset = -4 * d
        return SubBlockFactors(scales: SIMD8(repeating: d), offsets: offset * SIMD8<Float>(scales.evenHalf),
                               highOffsets: offset * SIMD8<Float>(scales.oddHalf), multipliers: scales)
    }
}
