#if arch(x86_64) && !PortableKernels
import CAVX512
#endif

/// Float matrix–matrix product for batches of positions: Y[t, r] = W[r]·X[t], for fp32, fp16 and
/// bf16 rows (widened to fp32 as they are loaded, so fp16/bf16 weights are never copied). A register
/// tile of 4 weight rows × 3 inputs keeps 12 accumulators in flight, so each loaded vector feeds 3
/// or 4 FMAs instead of one (a plain dot product is load-bound) and the horizontal sums are paid
/// once per tile, not once per 8 elements. Inputs are taken in panels that stay in L2 while every
/// row block of the weights passes over them.
enum BatchedFloat {
    /// fp32 rows at the `avx512vnni` level: the same tiles 512 bits wide and six inputs deep
    /// (`CAVX512`), twice the FMA width for as many loads per FMA. False where the level, the
    /// build or the dtype has no such kernel (fp16/bf16 widen through `multiply`).
    static func multiplyWide(_ w: WeightMatrix, _ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>,
                             rows: Range<Int>, level: MatVec.Kernels) -> Bool {
        #if arch(x86_64) && !PortableKernels
        if level == .avx512vnni && w.dtype == .f32 && count > 1 && !rows.isEmpty {
            llmq_avx512_f32_rows(w.row(rows.lowerBound).assumingMemoryBound(to: Float.self), w.rowBytes, rows.count,
                                 x, w.cols, count, y + rows.lowerBound, w.rows)
            return true
        }
        #endif
        return false
    }

    /// Rows `rows` of Y (count × w.rows, row-major) from X (count × w.cols, row-major).
    static func multiply<E: FloatLanes>(_: E.Type, _ w: WeightMatrix, _ x: UnsafePointer<Float>, count: Int,
                                        _ y: UnsafeMutablePointer<Float>, rows: Range<Int>) {
        let cols = w.cols, ldy = w.rows
        // About 512 KiB of inputs per panel, a multiple of the tile's 3.
        let panel = max(3, (1 << 19) / max(cols * 4, 1) / 3 * 3)
        var t0 = 0
        while t0 < count {
            let t1 = min(count, t0 + panel)
            var r = rows.lowerBound
            while r + 4 <= rows.upperBound {
                var t = t0
                while t + 3 <= t1 {
                    tile4x3(E.self, w.row(r), w.rowBytes, x + t * cols, cols, y + t * ldy + r, ldy)
                    t += 3
                }
                while t < t1 {
                    for rr in r..<(r + 4) { y[t * ldy + rr] = FloatDot.dot(E.self, w.row(rr), x + t * cols, cols) }
                    t += 1
                }
                r += 4
            }
            while r < rows.upperBound {
                for t in t0..<t1 { y[t * ldy + r] = FloatDot.dot(E.self, w.row(r), x + t * cols, cols) }
                r += 1
            }
            t0 = t1
        }
    }

    /// y[t·ldy + r] = w_r · x_t for 4 consecutive rows and 3 consecutive inputs.
    @inline(__always)
    private static func tile4x3<E: FloatLanes>(_: E.Type, _ w: UnsafeRawPointer, _ rowBytes: Int, _ x: UnsafePointer<Float>,
                                               _ cols: Int, _ y: UnsafeMutablePointer<Float>, _ ldy: Int) {
        typealias V = SIMD8<Float>
        let w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes
        let x0 = UnsafeRawPointer(x), x1 = x0 + 4 * cols, x2 = x0 + 8 * cols
        var c00 = V(), c01 = V(), c02 = V(), c10 = V(), c11 = V(), c12 = V()
        var c20 = V(), c21 = V(), c22 = V(), c30 = V(), c31 = V(), c32 = V()
        var i = 0
        let end = cols & ~7
        while i < end {
            let a0 = x0.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            let a1 = x1.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            let a2 = x2.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            var b = E.load8(w0, i)
            c00.addProduct(b, a0); c01.addProduct(b, a1); c02.addProduct(b, a2)
            b = E.load8(w1, i)
            c10.addProduct(b, a0); c11.addProduct(b, a1); c12.addProduct(b, a2)
            b = E.load8(w2, i)
            c20.addProduct(b, a0); c21.addProduct(b, a1); c22.addProduct(b, a2)
            b = E.load8(w3, i)
            c30.addProduct(b, a0); c31.addProduct(b, a1); c32.addProduct(b, a2)
            i += 8
        }
        var s = (c00.sum(), c01.sum(), c02.sum(), c10.sum(), c11.sum(), c12.sum(),
                 c20.sum(), c21.sum(), c22.sum(), c30.sum(), c31.sum(), c32.sum())
        for i in end..<cols {
            let a0 = x[i], a1 = x[cols + i], a2 = x[2 * cols + i]
            let b0 = E.load1(w0, i), b1 = E.load1(w1, i), b2 = E.load1(w2, i), b3 = E.load1(w3, i)
            s.0 += b0 * a0; s.1 += b0 * a1; s.2 += b0 * a2
            s.3 += b1 * a0; s.4 += b1 * a1; s.5 += b1 * a2
            s.6 += b2 * a0; s.7 += b2 * a1; s.8 += b2 * a2
            s.9 += b3 * a0; s.10 += b3 * a1; s.11 += b3 * a2
        }
        y[0] = s.0; y[ldy] = s.1; y[2 * ldy] = s.2
        y[1] = s.3; y[ldy + 1] = s.4; y[2 * ldy + 1] = s.5
        y[2] = s.6; y[ldy + 2] = s.7; y[2 * ldy + 2] = s.8
        y[3] = s.9; y[ldy + 3] = s.10; y[2 * ldy + 3] = s.11
    }
}
