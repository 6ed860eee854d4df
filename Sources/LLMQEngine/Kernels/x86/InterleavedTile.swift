#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
import LLMQCore

/// Batched products of the block types with eight rows interleaved, so that each lane of an
/// accumulator is a row. The blocks stay mapped in place; a group of eight rows is rearranged once
/// into a small scratch (`pack`) and then meets every input of the batch — what llama.cpp's
/// repacking does at load, without a second copy of the weights. Per sub-block of 32 inputs and
/// eight rows: eight broadcasts of four activation bytes, eight `vpmaddubsw` whose 16-bit sums
/// add up exactly (`perWidening` at a time), `vpmaddwd` (by the halves' multipliers for `halves`
/// types), one conversion and one FMA with the eight rows' scales as a vector, and one or two for
/// the offsets — where rows read in place cost a conversion, a broadcast and an FMA per row and
/// input (docs/benchmarks.md measures the difference).
///
/// Each row's sub-block sums are exact integers, scaled and added in sub-block order; the
/// single-input kernels sum in another order, so the two agree to float rounding, not bit for bit.
enum InterleavedTile<K: BlockKernel, G: GroupSize> {
    static var rows: Int { 8 }

    /// Signed weights (q8_0) go in as |w| with the activations given w's signs (`vpsignb`), so
    /// they keep the signed bytes too.
    static var signed: Bool { K.codeBits == 0 }

    /// Bytes of one sub-block's codes: 8 × 32 (word g of lane i: row i's codes 4g ..< 4g + 4),
    /// twice for signed weights (|w|, then w).
    static var codeBytes: Int { signed ? 512 : 256 }

    /// Floats per sub-block after its codes: the eight rows' scales and offsets; for `halves`
    /// types the second halves' offsets and each half's multipliers (as Int16 pairs) too.
    static var factorFloats: Int { K.halves ? 40 : 16 }

    /// `vpmaddubsw` results that add up in 16 bits before widening: each is at most
    /// 2·(2^bits − 1)·127 (2·127·127 for signed weights), and a widening never spans two halves.
    static var perWidening: Int {
        if signed { return 1 }
        let fit = 32767 / (2 * 127 * ((1 << K.codeBits) - 1)), most = K.halves ? 4 : 8
        return fit >= most ? most : fit >= 4 ? 4 : fit >= 2 ? 2 : 1
    }

    /// Bytes of scratch for rows of `subBlocks` sub-blocks: each sub-block's codes, then its factors.
    static func scratchBytes(subBlocks: Int) -> Int { subBlocks * (codeBytes + 4 * factorFloats) }

    /// Rearranges rows r ..< r + 8 of `w` into `scratch`.
    static func pack(_ w: WeightMatrix, row r: Int, subBlocks: Int, into scratch: UnsafeMutableRawPointer) {
        let stride = factorFloats
        let codes = scratch.assumingMemoryBound(to: UInt32.self), wordsPerSubBlock = codeBytes / 4
        let factors = (scratch + codeBytes * subBlocks).assumingMemoryBound(to: Float.self)
        for i in 0..<rows {
            K.forEachSubBlock(of: w.row(r + i), subBlocks: subBlocks, perBlock: G.subBlocks) { j, quants, f, lane in
                let words = unsafeBitCast(signed ? _mm256_sign_epi8(quants, quants) : quants, to: SIMD8<UInt32>.self)
                for g in 0..<8 { codes[j * wordsPerSubBlock + g * 8 + i] = words[g] }
                if signed {
                    let signs = unsafeBitCast(quants, to: SIMD8<UInt32>.self)
                    for g in 0..<8 { codes[j * wordsPerSubBlock + 64 + g * 8 + i] = signs[g] }
                }
                let at = factors + stride * j
                at[i] = f.scales[lane]
                at[8 + i] = f.offsets[lane]
                if K.halves {
                    at[16 + i] = f.highOffsets[lane]
                    let pairs = UnsafeMutableRawPointer(at + 24)
                    pairs.storeBytes(of: pair(f.multipliers[2 * lane]), toByteOffset: 4 * i, as: UInt32.self)
                    pairs.storeBytes(of: pair(f.multipliers[2 * lane + 1]), toByteOffset: 32 + 4 * i, as: UInt32.self)
                }
            }
        }
    }

    /// A multiplier in both Int16 halves of a lane.
    private static func pair(_ m: Int8) -> UInt32 {
        UInt32(UInt16(bitPattern: Int16(m))) &* 0x1_0001
    }

    /// y[t·ldy + i] = row i · x_t for the eight packed rows and the inputs `inputs`.
    @inline(never)
    static func multiply(_ scratch: UnsafeRawPointer, subBlocks: Int, _ x: QuantizedActivations, inputs: Range<Int>,
                         _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        var t = inputs.lowerBound
        while t + 4 <= inputs.upperBound {
            tile(4, scratch, subBlocks, x, t, y + t * ldy, ldy)
            t += 4
        }
        while t < inputs.upperBound {
            tile(1, scratch, subBlocks, x, t, y + t * ldy, ldy)
            t += 1
        }
    }

    @inline(__always)
    private static func tile(_ count: Int, _ scratch: UnsafeRawPointer, _ subBlocks: Int, _ x: QuantizedActivations,
                             _ first: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        let factors = (scratch + codeBytes * subBlocks).assumingMemoryBound(to: Float.self), stride = factorFloats
        let perWidening = perWidening
        let ones = _mm256_set1_epi16(1)
        var acc = InlineArray<4, __m256>(repeating: _mm256_setzero_ps())
        for j in 0..<subBlocks {
            let w = scratch + codeBytes * j
            let f = UnsafeRawPointer(factors + stride * j)
            let dw = f.loadUnaligned(as: __m256.self)
            for u in 0..<4 where u < count {
                let block = (first + u) * x.blocksPerVector + j
                let a = UnsafeRawPointer(x.quants + 32 * block)
                var dot = _mm256_setzero_si256()
                var g = 0
                while g < 8 {
                    var sum16 = _mm256_setzero_si256()
                    for h in g..<(g + perWidening) {
                        var activations = _mm256_set1_epi32(a.loadUnaligned(fromByteOffset: 4 * h, as: Int32.self))
                        if signed { activations = _mm256_sign_epi8(activations, w.load(fromByteOffset: 256 + 32 * h, as: __m256i.self)) }
                        sum16 = _mm256_add_epi16(sum16, _mm256_maddubs_epi16(w.load(fromByteOffset: 32 * h, as: __m256i.self), activations))
                    }
                    let widen = K.halves ? f.loadUnaligned(fromByteOffset: g < 4 ? 96 : 128, as: __m256i.self) : ones
                    dot = _mm256_add_epi32(dot, _mm256_madd_epi16(sum16, widen))
                    g += perWidening
                }
                acc[u] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(x.scales[block])), _mm256_cvtepi32_ps(dot), acc[u])
                if K.hasOffset {
                    let sums = K.halves ? x.lowSums : x.sums
                    acc[u] = _mm256_fmadd_ps(f.loadUnaligned(fromByteOffset: 32, as: __m256.self), _mm256_set1_ps(sums[block]), acc[u])
                    if K.halves {
                        acc[u] = _mm256_fmadd_ps(f.loadUnaligned(fromByteOffset: 64, as: __m256.self), _mm256_set1_ps(x.highSums[block]), acc[u])
                    }
                }
            }
        }
        for u in 0..<4 where u < count {
            UnsafeMutableRawPointer(y + u * ldy).storeBytes(of: acc[u], as: __m256.self)
        }
    }
}
#endif
