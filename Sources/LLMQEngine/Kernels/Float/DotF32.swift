/// fp32, fp16 and bf16 dot products: 32 lanes per step in four independent FMA chains so the loop is
/// limited by memory, not by the latency of one accumulator.
enum DotF32 {
    @inline(__always)
    static func dot(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let xr = UnsafeRawPointer(x)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            a0.addProduct(w.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            a1.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
            a2.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self))
            a3.addProduct(w.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self))
            i += 32
        }
        while i + 8 <= n {
            a0.addProduct(w.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            i += 8
        }
        var sum = ((a0 + a1) + (a2 + a3)).sum()
        while i < n {
            sum += w.loadUnaligned(fromByteOffset: 4 * i, as: Float.self) * x[i]
            i += 1
        }
        return sum
    }

    @inline(__always)
    static func dotF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let xr = UnsafeRawPointer(x)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let h0 = w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)
            let h1 = w.loadUnaligned(fromByteOffset: 2 * i + 16, as: SIMD8<Float16>.self)
            a0.addProduct(SIMD8<Float>(h0), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            a1.addProduct(SIMD8<Float>(h1), xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
            i += 16
        }
        var sum = (a0 + a1).sum()
        while i < n {
            sum += Float(w.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) * x[i]
            i += 1
        }
        return sum
    }

    /// bf16 widens to fp32 by a shift: the product of a bf16 row costs as much as an fp16 one.
    @inline(__always)
    static func dotBF16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let xr = UnsafeRawPointer(x)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            let h0 = SIMD8<UInt32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)) &<< 16
            let h1 = SIMD8<UInt32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 2 * i + 16, as: SIMD8<UInt16>.self)) &<< 16
            a0.addProduct(unsafeBitCast(h0, to: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self))
            a1.addProduct(unsafeBitCast(h1, to: SIMD8<Float>.self), xr.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self))
            i += 16
        }
        var sum = (a0 + a1).sum()
        while i < n {
            sum += Float(bitPattern: UInt32(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) * x[i]
            i += 1
        }
        return sum
    }
}
