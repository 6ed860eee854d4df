import LLMQCore

/// x = d·sc·(q − 32) with an int8 sc per 16 weights: unsigned 6-bit codes, the halves' sc as
/// multipliers and −32·d·sc as their offsets.
extension Q6_K: BlockKernel {
    static var codeBits: Int { 6 }
    static var hasOffset: Bool { true }
    static var halves: Bool { true }

    static func rows(subBlocks k: Int) -> QuantizedRows { rows(Group256.self) }

    @inline(__always)
    static func blockBytes(subBlocks k: Int) -> Int { 210 }

    /// Sub-block j = 4h + i: low nibbles (i < 2) or high nibbles of the 32 bytes at
    /// 64h + 32·(i % 2), with bits 2i…2i+1 of the 32 bytes at 128 + 32h above them.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        let h = j / 4, i = j % 4
        let low = SuperBlocks.field(SuperBlocks.load(block, 64 * h + 32 * (i % 2)), shift: 4 * (i / 2), mask: 0x0F)
        return SuperBlocks.combine(low, SuperBlocks.field(SuperBlocks.load(block, 128 + 32 * h), shift: 2 * i, mask: 3), shift: 4)
    }

    @inline(__always)
    static func factors(_ block: UnsafeRawPointer, blockBytes: Int, subBlocks k: Int, count: Int) -> SubBlockFactors {
        let d = SuperBlocks.half(block, 208)
        let scales = block.loadUnaligned(fromByteOffset: 192, as: SIMD16<Int8>.self)
        let offset = -32 * d
        return SubBlockFactors(scales: SIMD8(repeating: d), offsets: offset * SIMD8<Float>(scales.evenHalf),
                               highOffsets: offset * SIMD8<Float>(scales.oddHalf), multipliers: scales)
    }
}
