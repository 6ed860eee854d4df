import LLMQCore

extension Q4_0: OneScaleKernel {
    static var offset: WeightOffset { .scaled(-8) }
    static var codeBits: Int { 4 }

    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        Nibbles.codes(block + layout.quantsOffset, subBlock: j, of: k)
    }
}
