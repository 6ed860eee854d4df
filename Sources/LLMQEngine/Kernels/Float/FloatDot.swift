/// Dot products of a float row (fp32, fp16 or bf16) with an fp32 vector: 32 lanes per step in four
/// independent FMA chains so the loop is limited by memory, not by the latency of one accumulator.
enum FloatDot {
    @inline(__always)
    static func dot<E: FloatLanes>(_: E.Type, _ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let xr = UnsafeRawPointer(x)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            a0.addProduct(E.load8(w, i), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            a1.addProduct(E.load8(w, i + 8), xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
            a2.addProduct(E.load8(w, i + 16), xr.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self))
            a3.addProduct(E.load8(w, i + 24), xr.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self))
            i += 32
        }
        while i + 8 <= n {
            a0.addProduct(E.load8(w, i), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            i += 8
        }
        var sum = ((a0 + a1) + (a2 + a3)).sum()
        while i < n {
            sum += E.load1(w, i) * x[i]
            i += 1
        }
        return sum
    }

    @inline(__always)
    static func dot(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { dot(F32Lanes.self, w, x, n) }
}
