import LLMQCore

extension Q5_0: OneScaleKernel {
    static var offset: WeightOffset { .scaled(-16) }
    static var codeBits: Int { 5 }

    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        let quants = block + layout.quantsOffset
        return Nibbles.fiveBitCodes(quants, nibbles: quants + nibblesOffset(blockSize: 32 * k), subBlock: j, of: k)
    }
}
