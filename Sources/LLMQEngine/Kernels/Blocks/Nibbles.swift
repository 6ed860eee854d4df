#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
#endif

/// 4-bit quants as ggml's q4_0 packs them: byte i of a block of n holds element i (low nibble) and
/// element i + n/2 (high nibble).
enum Nibbles {
    /// The 32 codes (0…15) of sub-block j of the k in the block.
    @inline(__always)
    static func codes(_ q: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        #if arch(x86_64) && !PortableKernels
        let low = _mm256_set1_epi8(0x0F)
        if k == 1 {
            // 16 bytes: low nibbles are elements 0..<16, high nibbles 16..<32.
            let bytes = q.loadUnaligned(as: __m128i.self)
            return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes), low)
        }
        // Sub-blocks 0..<k/2 are the low nibbles of 32-byte runs, k/2..<k the high nibbles.
        let run = j < k / 2 ? j : j - k / 2
        let bytes = q.loadUnaligned(fromByteOffset: 32 * run, as: __m256i.self)
        return _mm256_and_si256(j < k / 2 ? bytes : _mm256_srli_epi16(bytes, 4), low)
        #else
        if k == 1 {
            let bytes = q.loadUnaligned(as: SIMD16<UInt8>.self)
            return SIMD32(lowHalf: bytes & 0x0F, highHalf: bytes &>> 4)
        }
        let run = j < k / 2 ? j : j - k / 2
        let bytes = q.loadUnaligned(fromByteOffset: 32 * run, as: SIMD32<UInt8>.self)
        return j < k / 2 ? bytes & 0x0F : bytes &>> 4
        #endif
    }

    /// 5-bit codes as ggml's q5_0 and q5_1 pack them: the low nibbles as q4_0's at `nibbles`,
    /// bit 4 of element i in bit i of the bytes at `fifthBits`. Codes 0…31: 2·31·127 still fits
    /// the Int16 pair sums.
    @inline(__always)
    static func fiveBitCodes(_ fifthBits: UnsafeRawPointer, nibbles: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32 {
        let low = codes(nibbles, subBlock: j, of: k)
        let bits = UInt32(littleEndian: fifthBits.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self))
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
