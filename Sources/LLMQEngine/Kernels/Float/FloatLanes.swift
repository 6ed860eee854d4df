#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
#endif

/// How a float dtype's stored elements widen to fp32, eight at a time: the one thing the fp32,
/// fp16 and bf16 products differ in, so `FloatDot` and `BatchedFloat` are written once and
/// specialised for each.
protocol FloatLanes {
    static var elementBytes: Int { get }
    /// Elements i ..< i + 8 of the row at `p`.
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float>
    /// Element i of the row at `p`.
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float
}

enum F32Lanes: FloatLanes {
    @inline(__always) static var elementBytes: Int { 4 }
    @inline(__always)
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> { p.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) }
    @inline(__always)
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float { p.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) }
}

enum F16Lanes: FloatLanes {
    @inline(__always) static var elementBytes: Int { 2 }
    /// On x86-64 one F16C instruction; Swift's Float16 → Float SIMD conversion does not lower to it
    /// there and widens lane by lane.
    @inline(__always)
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        #if arch(x86_64) && !PortableKernels
        _mm256_cvtph_ps(p.loadUnaligned(fromByteOffset: 2 * i, as: __m128i.self))
        #else
        SIMD8<Float>(p.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self))
        #endif
    }
    @inline(__always)
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float { Float(p.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
}

/// bf16 is the top half of an fp32: widening is a zero-extension and a 16-bit shift.
enum BF16Lanes: FloatLanes {
    @inline(__always) static var elementBytes: Int { 2 }
    @inline(__always)
    static func load8(_ p: UnsafeRawPointer, _ i: Int) -> SIMD8<Float> {
        #if arch(x86_64) && !PortableKernels
        let bits = _mm256_slli_epi32(_mm256_cvtepu16_epi32(p.loadUnaligned(fromByteOffset: 2 * i, as: __m128i.self)), 16)
        return unsafeBitCast(bits, to: SIMD8<Float>.self)
        #else
        let bits = SIMD8<UInt32>(truncatingIfNeeded: p.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)) &<< 16
        return unsafeBitCast(bits, to: SIMD8<Float>.self)
        #endif
    }
    @inline(__always)
    static func load1(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        Float(bitPattern: UInt32(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
    }
}
