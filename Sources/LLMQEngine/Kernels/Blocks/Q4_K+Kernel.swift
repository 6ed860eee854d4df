import LLMQCore

/// x = d·sc·q − dmin·m per 32 weights: q4_1's shape with the sub-block's scale and minimum
/// formed from the super-block's fp16 d and dmin and its 6-bit sc and m.
extension Q4_K: BlockKernel {
    static var codeBits: Int { 4 }
    static var hasOffset: Bool { true }

    static func rows(subBlocks k: Int) -> QuantizedRows { rows(Group256.self) }

    @inline(__always)
    static func blockBytes(subBlocks k: Int) -> Int { 144 }

    /// Sub-blocks 2i and 2i + 1 are the low and high nibbles of the 32 bytes at 16 + 32i.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        SuperBlocks.field(SuperBlocks.load(block, 16 + 32 * (j / 2)), shift: 4 * (j % 2), mask: 0x0F)
    }

    @inline(__always)
    static func factors(_ block: UnsafeRawPointer, blockBytes: Int, subBlocks k: Int, count: Int) -> SubBlockFactors {
        let (scales, minimums) = SuperBlocks.scalesAndMinimums(block + 4)
        return SubBlockFactors(scales: SuperBlocks.half(block, 0) * SIMD8<Float>(scales),
                               offsets: -SuperBlocks.half(block, 2) * SIMD8<Float>(minimums))
    }
}
