import LLMQCore

extension Q4_1: BlockKernel {
    static var offset: WeightOffset { .stored }
    static var codeBits: Int { 4 }

    @inline(__always)
    static func codes(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        Nibbles.codes(quants, subBlock: j, of: k)
    }
}
