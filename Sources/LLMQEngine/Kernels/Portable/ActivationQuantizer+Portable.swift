#if !arch(x86_64) || PortableKernels
extension ActivationBuffer {
    /// One block as the 8-bit reference encoder writes it, with d read back from its fp16 form;
    /// the x86 version's results, with Swift's SIMD types.
    @inline(__always)
    static func quantizeBlock(_ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>,
                              _ scale: inout Float, _ sum: inout Float, _ integerSum: inout Int32) {
        let raw = UnsafeRawPointer(x)
        var m = SIMD8<Float>()
        for i in 0..<4 {
            let v = raw.loadUnaligned(fromByteOffset: 32 * i, as: SIMD8<Float>.self)
            m = pointwiseMax(m, pointwiseMax(v, -v))
        }
        let d = m.max() / 127
        let inverse = 1 / d
        let id = inverse.isFinite ? inverse : 0
        var total: Int32 = 0
        for i in 0..<32 {
            let r = (x[i] * id).rounded(.toNearestOrAwayFromZero)
            // |x·id| ≤ 127 for finite blocks; NaN (a block holding ±inf) gives 0 rather than a trap.
            let v: Int8 = r >= 127 ? 127 : r <= -127 ? -127 : r == r ? Int8(r) : 0
            q[i] = v
            total &+= Int32(v)
        }
        scale = Float(Float16(d))
        sum = scale * Float(total)
        integerSum = total
    }
}
#endif
