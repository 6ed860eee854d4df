#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
#endif

/// Pieces the K-quant kernels share: bit fields of 32 code bytes, fp16 fields and the packed
/// 6-bit scales. Super-blocks are whole chunks of eight sub-blocks, so their `factors` ignore
/// `count`.
enum SuperBlocks {
    /// The 32 bytes at `offset`.
    @inline(__always)
    static func load(_ block: UnsafeRawPointer, _ offset: Int) -> Codes32 {
        block.loadUnaligned(fromByteOffset: offset, as: Codes32.self)
    }

    /// (v >> shift) & mask in each byte.
    @inline(__always)
    static func field(_ v: Codes32, shift: Int, mask: UInt8) -> Codes32 {
        #if arch(x86_64) && !PortableKernels
        let m = _mm256_set1_epi8(Int8(bitPattern: mask))
        return _mm256_and_si256(shift == 0 ? v : _mm256_srli_epi16(v, Int32(shift)), m)
        #else
        return (v &>> UInt8(shift)) & mask
        #endif
    }

    /// low | high << shift, each byte's bits staying within it.
    @inline(__always)
    static func combine(_ low: Codes32, _ high: Codes32, shift: Int) -> Codes32 {
        #if arch(x86_64) && !PortableKernels
        return _mm256_or_si256(low, _mm256_slli_epi16(high, Int32(shift)))
        #else
        return low | high &<< UInt8(shift)
        #endif
    }

    /// The little-endian fp16 field at `offset`.
    @inline(__always)
    static func half(_ block: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: block.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    /// Q4_K's and Q5_K's eight 6-bit scales and minimums from their 12 packed bytes (ggml's
    /// word-wise unpacking): for j < 4 the low six bits of bytes j and j + 4; otherwise a nibble
    /// of byte j + 4 with the top two bits of bytes j − 4 and j.
    @inline(__always)
    static func scalesAndMinimums(_ packed: UnsafeRawPointer) -> (scales: SIMD8<UInt8>, minimums: SIMD8<UInt8>) {
        let w = words(packed)
        let low6: UInt32 = 0x3F3F_3F3F, low4: UInt32 = 0x0F0F_0F0F, low2: UInt32 = 0x0303_0303
        let scales = SIMD2<UInt32>(w.0 & low6, (w.2 & low4) | ((w.0 >> 6) & low2) << 4)
        let minimums = SIMD2<UInt32>(w.1 & low6, ((w.2 >> 4) & low4) | ((w.1 >> 6) & low2) << 4)
        return (unsafeBitCast(scales, to: SIMD8<UInt8>.self), unsafeBitCast(minimums, to: SIMD8<UInt8>.self))
    }

    /// Q3_K's sixteen 6-bit scales, minus 32, from their 12 packed bytes: scale i's low nibble is
    /// the low (i < 8) or high nibble of byte i % 8, its top two bits bits 2·(i / 4) of byte 8 + i % 4.
    @inline(__always)
    static func signedScales(_ packed: UnsafeRawPointer) -> SIMD16<Int8> {
        let w = words(packed)
        let low4: UInt32 = 0x0F0F_0F0F, low2: UInt32 = 0x0303_0303
        let v = SIMD4<UInt32>((w.0 & low4) | (w.2 & low2) << 4, (w.1 & low4) | ((w.2 >> 2) & low2) << 4,
                              ((w.0 >> 4) & low4) | ((w.2 >> 4) & low2) << 4, ((w.1 >> 4) & low4) | ((w.2 >> 6) & low2) << 4)
        return unsafeBitCast(v, to: SIMD16<Int8>.self) &- 32
    }

    @inline(__always)
    private static func words(_ p: UnsafeRawPointer) -> (UInt32, UInt32, UInt32) {
        (UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)), UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
         UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
    }
}
