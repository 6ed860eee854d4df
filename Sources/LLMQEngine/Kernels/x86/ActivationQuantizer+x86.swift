#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel

extension ActivationBuffer {
    /// One block as the 8-bit reference encoder writes it, with d read back from its fp16 form.
    /// Written with intrinsics throughout: the generic SIMD lane selection and reductions compiled
    /// to lane-by-lane loops that cost as much as the products of a whole batch.
    @inline(__always)
    static func quantizeBlock(_ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>,
                              _ scale: inout Float, _ sum: inout Float, _ integerSum: inout Int32) {
        let raw = UnsafeRawPointer(x)
        let v = (raw.loadUnaligned(as: __m256.self), raw.loadUnaligned(fromByteOffset: 32, as: __m256.self),
                 raw.loadUnaligned(fromByteOffset: 64, as: __m256.self), raw.loadUnaligned(fromByteOffset: 96, as: __m256.self))
        let magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFF_FFFF))
        let m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v.0, magnitude), _mm256_and_ps(v.1, magnitude)),
                              _mm256_max_ps(_mm256_and_ps(v.2, magnitude), _mm256_and_ps(v.3, magnitude)))
        let four = _mm_max_ps(m.lowHalf, m.highHalf)
        let two = _mm_max_ps(four, _mm_movehl_ps(four, four))
        let d = _mm_cvtss_f32(_mm_max_ss(two, _mm_movehdup_ps(two))) / 127
        let inverse = 1 / d
        let id = _mm256_set1_ps(inverse.isFinite ? inverse : 0)
        let ints = (rounded(_mm256_mul_ps(v.0, id)), rounded(_mm256_mul_ps(v.1, id)),
                    rounded(_mm256_mul_ps(v.2, id)), rounded(_mm256_mul_ps(v.3, id)))
        // packs interleave 128-bit lanes; the permutation puts the 32 bytes back in order.
        let packed = _mm256_packs_epi16(_mm256_packs_epi32(ints.0, ints.1), _mm256_packs_epi32(ints.2, ints.3))
        let ordered = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
        UnsafeMutableRawPointer(q).storeBytes(of: ordered, as: __m256i.self)
        let lanes = unsafeBitCast(_mm256_add_epi32(_mm256_add_epi32(ints.0, ints.1), _mm256_add_epi32(ints.2, ints.3)),
                                  to: SIMD8<Int32>.self)
        let half = lanes.lowHalf &+ lanes.highHalf
        scale = Float(Float16(d))
        integerSum = (half[0] &+ half[1]) &+ (half[2] &+ half[3])
        sum = scale * Float(integerSum)
    }

    /// round-half-away-from-zero to Int32, as `Float.rounded(.toNearestOrAwayFromZero)`: adding the
    /// float just below ½ with x's sign and truncating is exact for every float.
    @inline(__always)
    private static func rounded(_ x: __m256) -> __m256i {
        let sign = _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(Int32(bitPattern: 0x8000_0000))))
        let half = _mm256_or_ps(sign, _mm256_set1_ps(Float(0.5).nextDown))
        return _mm256_cvttps_epi32(_mm256_add_ps(x, half))
    }
}

extension QuantizedActivations {
    /// The 32 quants of block b of vector v.
    @inline(__always)
    func quants(_ v: Int, _ b: Int) -> __m256i {
        UnsafeRawPointer(quants + 32 * (v * blocksPerVector + b)).load(as: __m256i.self)
    }

    /// Scales of blocks b ..< b + 8 of vector v (later blocks, or the zero padding, past its end).
    @inline(__always)
    func scales(_ v: Int, _ b: Int) -> __m256 {
        UnsafeRawPointer(scales + v * blocksPerVector + b).loadUnaligned(as: __m256.self)
    }

    /// d·Σq of blocks b ..< b + 8 of vector v.
    @inline(__always)
    func sums(_ v: Int, _ b: Int) -> __m256 {
        UnsafeRawPointer(sums + v * blocksPerVector + b).loadUnaligned(as: __m256.self)
    }

    /// d·Σq over the first 16 quants of blocks b ..< b + 8 of vector v (quantized with `halves`).
    @inline(__always)
    func lowSums(_ v: Int, _ b: Int) -> __m256 {
        UnsafeRawPointer(lowSums + v * blocksPerVector + b).loadUnaligned(as: __m256.self)
    }

    /// d·Σq over the last 16.
    @inline(__always)
    func highSums(_ v: Int, _ b: Int) -> __m256 {
        UnsafeRawPointer(highSums + v * blocksPerVector + b).loadUnaligned(as: __m256.self)
    }
}
#endif
