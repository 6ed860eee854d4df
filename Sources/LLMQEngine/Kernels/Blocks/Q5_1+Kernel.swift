import LLMQCore

/// q5_0's codes with q4_1's stored minimum: x = d·q + m.
extension Q5_1: OneScaleKernel {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | 2 | m, fp16 |
    /// | 4 | 4 | qh: bit i = bit 4 of q[i] |
    /// | 8 | 16 | byte j = (q[j] & 15) \| (q[j + 16] & 15) << 4 |
    static var layout: BlockLayout { BlockLayout(scaleOffset: 0, minOffset: 2, quantsOffset: 4, bitsPerQuant: 5) }
    static var offset: WeightOffset { .stored }
    static var codeBits: Int { 5 }

    static func rows(subBlocks k: Int) -> QuantizedRows { rows(Group32.self) }

    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        Nibbles.fiveBitCodes(block + layout.quantsOffset, nibbles: block + 8, subBlock: j, of: k)
    }
}
