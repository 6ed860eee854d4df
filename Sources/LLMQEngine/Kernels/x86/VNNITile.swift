#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
import CAVX512
import LLMQCore

/// `InterleavedTile` with sixteen rows for AVX-512 VNNI (`CAVX512`'s `llmq_vnni_multiply`): one
/// 512-bit `vpdpbusd` takes four codes of each of sixteen rows against a broadcast activation word
/// and adds the exact products into Int32 lanes, where AVX2 needs a broadcast, `vpmaddubsw`, and
/// `vpmaddwd` for eight rows. Packing stays here, generic over the block type; the C kernel sees
/// only packed codes and factors. Per row and input it scales and adds the sub-blocks in
/// `InterleavedTile`'s order, so the two agree bit for bit.
enum VNNITile<K: BlockKernel, G: GroupSize> {
    static var rows: Int { 16 }

    /// `vpdpbusd` multiplies unsigned by signed bytes: signed weights go in as w + 128 and the
    /// kernel takes 128·Σa back out.
    static var codes: llmq_codes {
        if K.codeBits == 0 { return llmq_codes_signed }
        return K.halves ? llmq_codes_halves : llmq_codes_offset
    }

    /// Floats per sub-block after the codes: scales and offsets, for `halves` types also the
    /// second halves' offsets and the two halves' multipliers (Int32).
    static var factorFloats: Int { K.halves ? 80 : 32 }

    static func scratchBytes(subBlocks: Int) -> Int { subBlocks * (512 + 4 * factorFloats) }

    /// Rearranges rows r ..< r + 16 of `w` into `scratch` (64-byte aligned).
    static func pack(_ w: WeightMatrix, row r: Int, subBlocks: Int, into scratch: UnsafeMutableRawPointer) {
        precondition(K.codeBits == 0 ? !K.hasOffset && !K.halves : K.hasOffset, "no VNNI tile for \(K.self)'s codes")
        let stride = factorFloats
        let words = scratch.assumingMemoryBound(to: UInt32.self)
        let factors = (scratch + 512 * subBlocks).assumingMemoryBound(to: Float.self)
        let signBit = _mm256_set1_epi8(-128)
        for i in 0..<rows {
            K.forEachSubBlock(of: w.row(r + i), subBlocks: subBlocks, perBlock: G.subBlocks) { j, codes, f, lane in
                let quants = K.codeBits == 0 ? _mm256_xor_si256(codes, signBit) : codes
                let lanes = unsafeBitCast(quants, to: SIMD8<UInt32>.self)
                for g in 0..<8 { words[j * 128 + g * 16 + i] = lanes[g] }
                let at = factors + stride * j
                at[i] = f.scales[lane]
                at[16 + i] = f.offsets[lane]
                if K.halves {
                    at[32 + i] = f.highOffsets[lane]
                    let multipliers = UnsafeMutableRawPointer(at + 48).assumingMemoryBound(to: Int32.self)
                    multipliers[i] = Int32(f.multipliers[2 * lane])
                    multipliers[16 + i] = Int32(f.multipliers[2 * lane + 1])
                }
            }
        }
    }

    /// y[t·ldy + i] = row i · x_t for the sixteen packed rows and the inputs `inputs`.
    static func multiply(_ scratch: UnsafeRawPointer, subBlocks: Int, _ x: QuantizedActivations, inputs: Range<Int>,
                         _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        var activations = x.vnni
        llmq_vnni_multiply(scratch, subBlocks, codes, &activations, inputs.lowerBound, inputs.upperBound, y, ldy)
    }
}
#endif
