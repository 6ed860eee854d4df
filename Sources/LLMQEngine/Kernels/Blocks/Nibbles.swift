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
}
