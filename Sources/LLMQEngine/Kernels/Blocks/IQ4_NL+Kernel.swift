#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
#endif
import LLMQCore

/// x = d·value(q): q4_0's nibbles looked up in the non-uniform grid, as signed weights (the
/// grid's −127…113 never holds −128, so the sign trick's 2·127·127 fits the Int16 pair sums).
extension IQ4_NL: OneScaleKernel {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | 16 | byte j = index of element j \| index of element j + 16 << 4 |
    static var layout: BlockLayout { BlockLayout(scaleOffset: 0, minOffset: nil, quantsOffset: 2, bitsPerQuant: 4) }
    static var offset: WeightOffset { .none }
    static var codeBits: Int { 0 }

    static func rows(subBlocks k: Int) -> QuantizedRows { rows(Group32.self) }

    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        IQ4Lookup.lookup(Nibbles.codes(block + layout.quantsOffset, subBlock: 0, of: 1))
    }
}

/// ggml's `kvalues_iq4nl`, the grid IQ4_NL and IQ4_XS index.
enum IQ4Lookup {
    /// The 32 grid values the 32 indices (0…15) stand for.
    @inline(__always)
    static func lookup(_ indices: Codes32) -> Codes32 {
        let grid = SIMD16<Int8>(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113)
        #if arch(x86_64) && !PortableKernels
        // vpshufb looks up within each 128-bit lane: the grid in both.
        return _mm256_shuffle_epi8(unsafeBitCast(SIMD32(lowHalf: grid, highHalf: grid), to: __m256i.self), indices)
        #else
        return SIMD32<UInt8>(truncatingIfNeeded: grid[indices])
        #endif
    }
}
