import LLMQCore

/// Q4_K's scales and nibbles (from byte 48) with a fifth bit per weight: bit j of byte l of the
/// 32 bytes at 16 for weight l of sub-block j. Codes 0…31.
extension Q5_K: BlockKernel {
    static var codeBits: Int { 5 }
    static var hasOffset: Bool { true }

    static func rows(subBlocks k: Int) -> QuantizedRows { rows(Group256.self) }

    @inline(__always)
    static func blockBytes(subBlocks k: Int) -> Int { 176 }

    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        let low = SuperBlocks.field(SuperBlocks.load(block, 48 + 32 * (j / 2)), shift: 4 * (j % 2), mask: 0x0F)
        return SuperBlocks.combine(low, SuperBlocks.field(SuperBlocks.load(block, 16), shift: j, mask: 1), shift: 4)
    }

    @inline(__always)
    static func factors(_ block: UnsafeRawPointer, blockBytes: Int, subBlocks k: Int, count: Int) -> SubBlockFactors {
        Q4_K.factors(block, blockBytes: blockBytes, subBlocks: k, count: count)
    }
}
