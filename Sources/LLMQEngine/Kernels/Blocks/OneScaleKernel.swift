#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
#endif
import LLMQCore

/// A type of ggml's first kind — q8_0, q4_0, q4_1, q5_0, at groups of 32…256 — whose block has one
/// fp16 scale (and minimum) for all its sub-blocks, at offsets its `BlockLayout` states.
protocol OneScaleKernel: BlockKernel {
    /// The type's field offsets (inlinable, so they fold into the kernels).
    static var layout: BlockLayout { get }
    /// What the codes are offset by, as a multiple of the activations' sums.
    static var offset: WeightOffset { get }
}

/// The term a sub-block adds besides d_w·d_a·Σq·a: (its weights' offset) · d_a·Σa.
enum WeightOffset {
    /// Signed codes, no offset.
    case none
    /// Codes offset by a constant times the scale (x = d·(q − c)): `scaled(−c)`.
    case scaled(Float)
    /// Codes offset by the block's stored minimum: x = d·q + m.
    case stored
}

extension OneScaleKernel {
    @inline(__always)
    static func blockBytes(subBlocks k: Int) -> Int { layout.blockBytes(32 * k) }

    static var hasOffset: Bool {
        if case .none = offset { return false }
        return true
    }

    /// d (and c·d or the minimum) of the blocks holding the sub-blocks, repeated for each.
    @inline(__always)
    static func factors(_ block: UnsafeRawPointer, blockBytes: Int, subBlocks k: Int, count: Int) -> SubBlockFactors {
        let d = fp16Fields(block, at: layout.scaleOffset, blockBytes: blockBytes, k: k, count: count)
        let offsets: SIMD8<Float> = switch offset {
        case .none: SIMD8()
        case .scaled(let c): d * c
        case .stored: fp16Fields(block, at: layout.minOffset!, blockBytes: blockBytes, k: k, count: count)
        }
        return SubBlockFactors(scales: d, offsets: offsets)
    }

    /// The fp16 fields at `offset` of the blocks holding sub-blocks 0..<8 (0 for lanes ≥ count).
    @inline(__always)
    private static func fp16Fields(_ row: UnsafeRawPointer, at offset: Int, blockBytes: Int, k: Int, count: Int) -> SIMD8<Float> {
        var bits = SIMD8<UInt16>()
        for j in 0..<8 where j < count {
            bits[j] = row.loadUnaligned(fromByteOffset: j / k * blockBytes + offset, as: UInt16.self)
        }
        #if arch(x86_64) && !PortableKernels
        return _mm256_cvtph_ps(unsafeBitCast(bits, to: __m128i.self))
        #else
        return SIMD8<Float>(unsafeBitCast(bits, to: SIMD8<Float16>.self))
        #endif
    }
}
