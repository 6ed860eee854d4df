import LLMQCore

/// x = d·sc·q − dmin·m with 4-bit sc and m per 16 weights: 2-bit codes, the halves' sc as
/// multipliers and −dmin·m as their offsets.
extension Q2_K: BlockKernel {
    static var codeBits: Int { 2 }
    static var hasOffset: Bool { true }
    static var halves: Bool { true }

    static func rows(subBlocks k: Int) -> QuantizedRows { rows(Group256.self) }

    @inline(__always)
    static func blockBytes(subBlocks k: Int) -> Int { 84 }

    /// Sub-block j = 4h + i: bits 2i…2i+1 of the 32 bytes at 16 + 32h.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        SuperBlocks.field(SuperBlocks.load(block, 16 + 32 * (j / 4)), shift: 2 * (j % 4), mask: 3)
    }

    @inline(__always)
    static func factors(_ block: UnsafeRawPointer, blockBytes: Int, subBlocks k: Int, count: Int) -> SubBlockFactors {
        let packed = block.loadUnaligned(as: SIMD16<UInt8>.self)
        let minimums = packed &>> 4, dmin = -SuperBlocks.half(block, 82)
        return SubBlockFactors(scales: SIMD8(repeating: SuperBlocks.half(block, 80)), offsets: dmin * SIMD8<Float>(minimums.evenHalf),
                               highOffsets: dmin * SIMD8<Float>(minimums.oddHalf),
                               multipliers: SIMD16<Int8>(truncatingIfNeeded: packed & 0x0F))
    }
}
