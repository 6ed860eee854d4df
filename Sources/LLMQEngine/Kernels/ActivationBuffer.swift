import _Builtin_intrinsics.intel
import LLMQCore

/// Input vectors quantized for the integer kernels, as ggml quantizes activations for its q8_0
/// and q4_0 dot products: blocks of 32 quantized exactly as the reference q8_0 codec does
/// (d = max|x|/127 stored as fp16, q = round-half-away(x/d)). The kernels read them unpacked:
/// all quants contiguous and 32-byte aligned, d as fp32, and d·Σq, the term the weights' offsets
/// multiply (ggml's q8_1 `s`). Allocated once per `MatVec` and grown to the largest batch seen:
/// nothing is allocated per call. A MatVec (and so its buffer) serves one caller at a time.
final class ActivationBuffer: @unchecked Sendable {
    static let blockSize = 32
    /// Scales and sums are read eight blocks at a time; the last vector's reads stay inside.
    static let padding = 8

    private(set) var quants = UnsafeMutablePointer<Int8>.allocate(capacity: 0)
    private(set) var scales = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private(set) var sums = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private var capacity = 0   // blocks

    deinit {
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
    }

    /// Quantizes `count` vectors of `cols` (a multiple of 32) values, vector t at `x + t·cols`,
    /// and returns the view the kernels read.
    func quantize(_ x: UnsafePointer<Float>, count: Int, cols: Int, pool: ThreadPool) -> QuantizedActivations {
        let perVector = cols / Self.blockSize
        reserve(count * perVector)
        let quants = quants, scales = scales, sums = sums
        // A block is a few nanoseconds of work; split only batches.
        pool.parallelFor(count * perVector, grain: 4096) { blocks in
            for b in blocks { Self.quantizeBlock(x + 32 * b, quants + 32 * b, &scales[b], &sums[b]) }
        }
        return QuantizedActivations(quants: quants, scales: scales, sums: sums, blocksPerVector: perVector)
    }

    /// One block as `Q8_0Codec.quantize` encodes it, with d read back from its fp16 form. Written
    /// with intrinsics throughout: the generic SIMD lane selection and reductions compiled to
    /// lane-by-lane loops that cost as much as the products of a whole batch.
    @inline(__always)
    static func quantizeBlock(_ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>,
                              _ scale: inout Float, _ sum: inout Float) {
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
        sum = scale * Float((half[0] &+ half[1]) &+ (half[2] &+ half[3]))
    }

    /// round-half-away-from-zero to Int32, as `Float.rounded(.toNearestOrAwayFromZero)`: adding the
    /// float just below ½ with x's sign and truncating is exact for every float.
    @inline(__always)
    private static func rounded(_ x: __m256) -> __m256i {
        let sign = _mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(Int32(bitPattern: 0x8000_0000))))
        let half = _mm256_or_ps(sign, _mm256_set1_ps(Float(0.5).nextDown))
        return _mm256_cvttps_epi32(_mm256_add_ps(x, half))
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: needed * Self.blockSize, alignment: 64)
        quants = raw.bindMemory(to: Int8.self, capacity: needed * Self.blockSize)
        scales = .allocate(capacity: needed + Self.padding)
        sums = .allocate(capacity: needed + Self.padding)
        (scales + needed).initialize(repeating: 0, count: Self.padding)
        (sums + needed).initialize(repeating: 0, count: Self.padding)
        capacity = needed
    }
}

/// Quantized input vectors as the kernels read them: vector v's block b has 32 int8 quants,
/// an fp32 scale and d·Σq.
struct QuantizedActivations: @unchecked Sendable {
    let quants: UnsafePointer<Int8>
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Float>
    let blocksPerVector: Int

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
}
