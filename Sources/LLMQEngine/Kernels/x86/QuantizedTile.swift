#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
import CPrefetch
import LLMQCore

/// Dot products of R block-quantized weight rows with T quantized inputs at once: each row's
/// sub-block is unpacked once for all T inputs and each input's activation block loaded once for
/// all R rows. Matrix–vector products are the T = 1 case; batches go through `InterleavedTile`
/// and use these tiles only for the rows left after its groups of eight.
///
/// Per (row, input) one eight-lane fp32 accumulator takes, for sub-block s,
/// (d_w·d_a)_s · Σ_lanes q_w·q_a (the integer lanes converted) and, for offset types, the offset
/// term o_w·(d_a·Σq_a) of eight sub-blocks at a time; its lanes are summed at the end. The
/// factors of eight sub-blocks are formed as vectors (`BlockKernel.factors`).
enum QuantizedTile<let R: Int, let T: Int> {
    typealias Accumulators = InlineArray<R, InlineArray<T, __m256>>

    /// y[t·ldy + r] = w_r · x_t for the R rows starting at `w` (`rowBytes` apart) and the T inputs
    /// of `x` starting at `first`. With `prefetchRows` > 0, each chunk also asks for the bytes it
    /// reads that many rows further on.
    @inline(never)
    static func multiply<K: BlockKernel, G: GroupSize>(_: K.Type, _: G.Type, _ w: UnsafeRawPointer, rowBytes: Int,
                                                      _ x: QuantizedActivations, first: Int,
                                                      _ y: UnsafeMutablePointer<Float>, ldy: Int, prefetchRows: Int = 0) {
        let k = G.subBlocks, blockBytes = K.blockBytes(subBlocks: k)
        let subBlocks = x.blocksPerVector
        var acc = Accumulators(repeating: InlineArray(repeating: _mm256_setzero_ps()))
        var s = 0
        while s + 8 <= subBlocks {
            let at = w + s / k * blockBytes
            if prefetchRows > 0 { prefetch(at + prefetchRows * rowBytes, rowBytes, bytes: 8 / k * blockBytes) }
            chunk(K.self, G.self, at, rowBytes, x, first, s, count: 8, &acc)
            s += 8
        }
        if s < subBlocks { chunk(K.self, G.self, w + s / k * blockBytes, rowBytes, x, first, s, count: subBlocks - s, &acc) }
        for r in 0..<R {
            for t in 0..<T { y[t * ldy + r] = sum(acc[r][t]) }
        }
    }

    /// Sub-blocks s ..< s + count (≤ 8, whole blocks) of every row and input; `w` points at the
    /// block holding sub-block s of row 0.
    @inline(__always)
    private static func chunk<K: BlockKernel, G: GroupSize>(_: K.Type, _: G.Type, _ w: UnsafeRawPointer, _ rowBytes: Int,
                                                           _ x: QuantizedActivations, _ first: Int, _ s: Int, count n: Int,
                                                           _ acc: inout Accumulators) {
        let k = G.subBlocks, blockBytes = K.blockBytes(subBlocks: k)
        // Scale products (d_w·d_a) of the eight sub-blocks for each row and input; lanes ≥ n are 0.
        var scales = InlineArray<R, InlineArray<T, __m256>>(repeating: InlineArray(repeating: _mm256_setzero_ps()))
        var multipliers = InlineArray<R, __m128i>(repeating: _mm_setzero_si128())
        for r in 0..<R {
            let f = K.factors(w + r * rowBytes, blockBytes: blockBytes, subBlocks: k, count: n)
            if K.halves { multipliers[r] = unsafeBitCast(f.multipliers, to: __m128i.self) }
            for t in 0..<T {
                let v = first + t
                scales[r][t] = _mm256_mul_ps(f.scales, x.scales(v, s))
                if K.hasOffset {
                    if K.halves {
                        acc[r][t] = _mm256_fmadd_ps(f.offsets, x.lowSums(v, s), acc[r][t])
                        acc[r][t] = _mm256_fmadd_ps(f.highOffsets, x.highSums(v, s), acc[r][t])
                    } else {
                        acc[r][t] = _mm256_fmadd_ps(f.offsets, x.sums(v, s), acc[r][t])
                    }
                }
            }
        }
        @inline(__always)
        func subBlock(_ j: Int) {
            var weights = InlineArray<R, __m256i>(repeating: _mm256_setzero_si256())
            var halves = InlineArray<R, __m256i>(repeating: _mm256_setzero_si256())
            for r in 0..<R {
                weights[r] = K.codes(w + r * rowBytes + j / k * blockBytes, subBlock: j % k, of: k)
                if K.halves { halves[r] = spread(multipliers[r], j) }
            }
            for t in 0..<T {
                let a = x.quants(first + t, s + j)
                for r in 0..<R {
                    let products = _mm256_cvtepi32_ps(dot(K.self, weights[r], a, halves: halves[r]))
                    acc[r][t] = _mm256_fmadd_ps(broadcast(scales[r][t], j), products, acc[r][t])
                }
            }
        }
        if k == 8 && n == 8 {
            // A super-block's sub-blocks take their codes from different bit fields: spelt out,
            // each one's shifts and offsets are constants.
            subBlock(0); subBlock(1); subBlock(2); subBlock(3); subBlock(4); subBlock(5); subBlock(6); subBlock(7)
        } else {
            for j in 0..<8 where j < n { subBlock(j) }
        }
    }

    /// Σ w·a of one sub-block in eight Int32 lanes: `vpmaddubsw` (unsigned × signed bytes, pairs
    /// summed to Int16), then `vpmaddwd` by ones — or, for `halves` types, by the halves'
    /// multipliers (`spread`). Unsigned codes go in as they are (at most 2·63·127 per Int16);
    /// signed weights as |w| with the activations given w's signs. Swift's SIMD types cannot
    /// express this (LLVM forms `vpmaddubsw` only from a saturating pattern).
    @inline(__always)
    static func dot<K: BlockKernel>(_: K.Type, _ w: __m256i, _ a: __m256i, halves: __m256i) -> __m256i {
        let pairs = K.codeBits == 0
            ? _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w))
            : _mm256_maddubs_epi16(w, a)
        return _mm256_madd_epi16(pairs, K.halves ? halves : _mm256_set1_epi16(1))
    }

    /// Sixteen Int16 lanes, eight of multiplier 2j (the first half's pairs) then eight of 2j + 1.
    @inline(__always)
    static func spread(_ multipliers: __m128i, _ j: Int) -> __m256i {
        let pick = _mm_set_epi64x(Int64(2 * j + 1) &* 0x0101_0101_0101_0101, Int64(2 * j) &* 0x0101_0101_0101_0101)
        return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(multipliers, pick))
    }

    /// Asks for `bytes` at `at` in each of R rows; prefetch never faults, so rows past the
    /// matrix cost nothing.
    @inline(__always)
    private static func prefetch(_ at: UnsafeRawPointer, _ rowBytes: Int, bytes: Int) {
        for r in 0..<R {
            var offset = 0
            while offset < bytes {
                llmq_prefetch(at + r * rowBytes + offset)
                offset += 64
            }
        }
    }

    @inline(__always)
    private static func broadcast(_ v: __m256, _ lane: Int) -> __m256 {
        _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(Int32(lane)))
    }

    /// The eight lanes summed pairwise (the same order for every caller).
    @inline(__always)
    static func sum(_ v: __m256) -> Float {
        let four = v.lowHalf + v.highHalf
        let two = four.lowHalf + four.highHalf
        return two[0] + two[1]
    }
}
#endif
