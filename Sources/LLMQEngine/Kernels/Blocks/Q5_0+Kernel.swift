#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
#endif
import LLMQCore

extension Q5_0: OneScaleKernel {
    static var offset: WeightOffset { .scaled(-16) }
    static var codeBits: Int { 5 }

    /// The low nibbles as q4_0's, with bit 4 of each code ORed in from the block's qh field (the
    /// n/8 bytes before the nibbles). Codes 0…31: 2·31·127 still fits the Int16 pair sums.
    @inline(__always)
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        let quants = block + layout.quantsOffset
        let low = Nibbles.codes(quants + nibblesOffset(blockSize: 32 * k), subBlock: j, of: k)
        let bits = UInt32(littleEndian: quants.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self))
        #if arch(x86_64) && !PortableKernels
        // Byte i takes byte i/8 of the word (`vpshufb` works within 128-bit lanes, and each lane
        // holds the whole word), then tests bit i%8 of it.
        let byteOfBit = unsafeBitCast(SIMD32<UInt8>(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                    2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), to: __m256i.self)
        let bitOfByte = _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201))
        let spread = _mm256_shuffle_epi8(_mm256_set1_epi32(Int32(bitPattern: bits)), byteOfBit)
        let isSet = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bitOfByte), bitOfByte)
        return _mm256_or_si256(low, _mm256_and_si256(isSet, _mm256_set1_epi8(0x10)))
        #else
        var fifth = SIMD32<UInt8>()
        for i in 0..<32 { fifth[i] = UInt8(truncatingIfNeeded: bits >> UInt32(i)) & 1 }
        return low | fifth &<< 4
        #endif
    }
}
