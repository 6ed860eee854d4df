import LLMQCore

extension Q8_0: OneScaleKernel {
    static var offset: WeightOffset { .none }
    /// One row streams fastest; q8_0's few operations per byte keep up with it.
    static var decodeRows: Int { 1 }
    static var codeBits: Int { 0 }

    /// The signed weights themselves; |w| ≤ 127 (the encoder never writes −128), so the sign trick's
    /// 2·127·127 fits the Int16 pair sums.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        block.loadUnaligned(fromByteOffset: layout.quantsOffset + 32 * j, as: Codes32.self)
    }
}
