/// Q4_K's and Q5_K's shared header: fp16 d at 0, fp16 dmin at 2, then 12 bytes packing eight 6-bit
/// sub-block scales and eight 6-bit minimums, and the parameter choice that fills it — the two
/// types differ only in their level count and in how they pack the levels.
enum Scales6 {
    static let packedOffset = 4

    /// Scale and minimum of sub-block `j` (0…7): for j < 4 the low six bits of bytes j and j + 4;
    /// otherwise a nibble of byte j + 4 plus the top two bits of bytes j − 4 and j.
    @inline(__always)
    static func scaleMin(_ block: UnsafeRawPointer, _ j: Int) -> (UInt8, UInt8) {
        let q = { block.load(fromByteOffset: packedOffset + $0, as: UInt8.self) }
        if j < 4 { return (q(j) & 63, q(j + 4) & 63) }
        return ((q(j + 4) & 0x0F) | (q(j - 4) >> 6) << 4, (q(j + 4) >> 4) | (q(j) >> 6) << 4)
    }

    /// ggml's packing of scale `ls` and minimum `lm` of sub-block j, bits beyond the sixth
    /// included as C's uint8_t arithmetic keeps them (bytes for j ≥ 4 must be packed after j − 4).
    @inline(__always)
    static func pack(_ ls: UInt8, _ lm: UInt8, _ j: Int, into block: UnsafeMutableRawPointer) {
        let q = (block + packedOffset).assumingMemoryBound(to: UInt8.self)
        if j < 4 {
            q[j] = ls
            q[j + 4] = lm
        } else {
            q[j + 4] = (ls & 0xF) | (lm & 0xF) << 4
            q[j - 4] |= (ls >> 4) << 6
            q[j] |= (lm >> 4) << 6
        }
    }

    /// `quantize_row_q4_K_ref` / `quantize_row_q5_K_ref`'s parameters: each sub-block's scale and
    /// minimum by `GGMLSearch.qkx` weighted by mean|x| + |x|, both scaled to 6 bits of the largest.
    /// Writes the header and each sub-block's levels 0...nmax to L.
    static func reference(_ x: UnsafePointer<Float>, nmax: Int32, rmin: Float, steps: Int, into block: UnsafeMutableRawPointer,
                          levels L: UnsafeMutablePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 16) { scratch in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { aux in
                let weights = scratch.baseAddress!, scales = weights + 32, mins = scales + 8
                var maxScale: Float = 0, maxMin: Float = 0
                for j in 0..<8 {
                    let xj = x + 32 * j
                    var sumX2: Float = 0
                    for l in 0..<32 { sumX2 += xj[l] * xj[l] }
                    let average = (sumX2 / 32).squareRoot()
                    for l in 0..<32 { weights[l] = average + abs(xj[l]) }
                    (scales[j], mins[j]) = GGMLSearch.qkx(32, nmax, xj, weights, L + 32 * j, aux.baseAddress!,
                                                          rmin: rmin, rdelta: 0.1, steps: steps, absolute: false)
                    if scales[j] > maxScale { maxScale = scales[j] }
                    if mins[j] > maxMin { maxMin = mins[j] }
                }
                let inverseScale = maxScale > 0 ? 63 / maxScale : 0
                let inverseMin = maxMin > 0 ? 63 / maxMin : 0
                for j in 0..<8 {
                    let ls = Swift.min(63, UInt8(truncatingIfNeeded: GGMLSearch.nearestInt(inverseScale * scales[j])))
                    let lm = Swift.min(63, UInt8(truncatingIfNeeded: GGMLSearch.nearestInt(inverseMin * mins[j])))
                    pack(ls, lm, j, into: block)
                }
                Half.store(maxScale / 63, block, 0)
                Half.store(maxMin / 63, block, 2)
            }
        }
        requantize(x, nmax: nmax, block, levels: L)
    }

    /// `quantize_row_q4_K_impl` / `quantize_row_q5_K_impl` with importance: sub-blocks weighted by
    /// importance·√(σ² + x²) (σ² = 2·mean x² of the super-block), searched over 37 inverse scales,
    /// then d and dmin by `GGMLSearch.qp` weighted by each sub-block's total weight — or weighted by
    /// the importance alone unless `spread`. `clampScales`: Q5_K caps the 6-bit values at 63 before
    /// packing, Q4_K does not.
    static func weighted(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, spread: Bool, nmax: Int32, clampScales: Bool,
                         into block: UnsafeMutableRawPointer, levels L: UnsafeMutablePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + 24) { scratch in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { bytes in
                let weights = scratch.baseAddress!, scales = weights + 32, mins = scales + 8, sw = mins + 8
                let aux = bytes.baseAddress!, ls = aux + 32, lm = ls + 8
                var sumX2: Float = 0
                for l in 0..<256 { sumX2 += x[l] * x[l] }
                let sigma2 = 2 * sumX2 / 256
                for j in 0..<8 {
                    let xj = x + 32 * j
                    for l in 0..<32 { weights[l] = spread ? qw[32 * j + l] * (sigma2 + xj[l] * xj[l]).squareRoot() : qw[32 * j + l] }
                    var sum: Float = 0
                    for l in 0..<32 { sum += weights[l] }
                    sw[j] = sum
                    (scales[j], mins[j]) = GGMLSearch.qkx(32, nmax, xj, weights, L + 32 * j, aux,
                                                          rmin: -0.9, rdelta: 0.05, steps: 36, absolute: false)
                }
                let d = GGMLSearch.qp(8, 63, scales, ls, sw)
                let m = GGMLSearch.qp(8, 63, mins, lm, sw)
                for j in 0..<8 {
                    pack(clampScales ? Swift.min(63, ls[j]) : ls[j], clampScales ? Swift.min(63, lm[j]) : lm[j], j, into: block)
                }
                Half.store(d, block, 0)
                Half.store(m, block, 2)
            }
        }
        requantize(x, nmax: nmax, block, levels: L)
    }

    /// Re-rounds every sub-block whose stored scale is not zero to the stored (fp16, 6-bit)
    /// parameters: L = clamp(round((x + dmin·m)/(d·sc)), 0, nmax).
    private static func requantize(_ x: UnsafePointer<Float>, nmax: Int32, _ block: UnsafeRawPointer, levels L: UnsafeMutablePointer<UInt8>) {
        let d = Half.load(block, 0), dmin = Half.load(block, 2)
        for j in 0..<8 {
            let (sc, m) = scaleMin(block, j)
            let dl = d * Float(sc)
            if dl == 0 { continue }
            let ml = dmin * Float(m)
            for i in 32 * j..<32 * (j + 1) {
                L[i] = UInt8(Swift.max(0, Swift.min(nmax, GGMLSearch.nearestInt((x[i] + ml) / dl))))
            }
        }
    }

    /// d, dmin and the eight scales and minimums, for the error-feedback rounder.
    static func parameters(of block: UnsafeRawPointer, into p: inout SubBlockParameters) {
        p.d = Half.load(block, 0)
        p.dmin = Half.load(block, 2)
        for j in 0..<8 {
            let (sc, m) = scaleMin(block, j)
            p.scales[j] = Int32(sc)
            p.mins[j] = Int32(m)
        }
    }

    static func store(_ p: SubBlockParameters, into block: UnsafeMutableRawPointer) {
        Half.store(p.d, block, 0)
        Half.store(p.dmin, block, 2)
        for j in 0..<8 { pack(UInt8(p.scales[j]), UInt8(p.mins[j]), j, into: block) }
    }
}
