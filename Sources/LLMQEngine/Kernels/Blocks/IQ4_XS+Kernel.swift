import LLMQCore

/// x = d·(ls − 32)·value(q): IQ4_NL's codes per 32 weights, each sub-block scaled by its 6-bit
/// ls under the super-block's fp16 d.
extension IQ4_XS: BlockKernel {
    static var codeBits: Int { 0 }
    static var hasOffset: Bool { false }

    static func rows(subBlocks k: Int) -> QuantizedRows { rows(Group256.self) }

    @inline(__always)
    static func blockBytes(subBlocks k: Int) -> Int { 136 }

    /// Sub-block j's indices are the 16 bytes at 8 + 16j, laid out as IQ4_NL's.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        IQ4Lookup.lookup(Nibbles.codes(block + 8 + 16 * j, subBlock: 0, of: 1))
    }

    /// d·(ls − 32), ls's low four bits from nibble j % 2 of byte 4 + j / 2 and its top two from
    /// bits 2j…2j+1 of the uint16 at 2.
    @inline(__always)
    static func factors(_ block: UnsafeRawPointer, blockBytes: Int, subBlocks k: Int, count: Int) -> SubBlockFactors {
        let low = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let high = UInt32(UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
        let even = SIMD4<UInt32>(low, low >> 8, low >> 16, low >> 24) & 0x0F
        let odd = SIMD4<UInt32>(low >> 4, low >> 12, low >> 20, low >> 28) & 0x0F
        let nibbles = SIMD8<UInt32>(even[0], odd[0], even[1], odd[1], even[2], odd[2], even[3], odd[3])
        let top = (SIMD8<UInt32>(repeating: high) &>> SIMD8<UInt32>(0, 2, 4, 6, 8, 10, 12, 14)) & 3
        let ls = SIMD8<Int32>(truncatingIfNeeded: nibbles | top &<< 4) &- 32
        return SubBlockFactors(scales: SuperBlocks.half(block, 0) * SIMD8<Float>(ls))
    }
}
