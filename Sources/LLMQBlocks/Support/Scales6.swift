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
        typealias Lanes = GGMLSearch.Lanes8
        // The eight sub-blocks searched side by side, one per lane (`GGMLSearch.qkx8`).
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 4 * 32) { scratch in
            let xT = scratch.baseAddress!, wT = xT + 32, levels = wT + 32, aux = levels + 32
            for l in 0..<32 {
                var v = Lanes()
                for j in 0..<8 { v[j] = x[32 * j + l] }
                xT[l] = v
            }
            var sumX2 = Lanes()
            for l in 0..<32 { sumX2 += xT[l] * xT[l] }
            let average = (sumX2 / 32).squareRoot()
            for l in 0..<32 { wT[l] = average + GGMLSearch.abs8(xT[l]) }
            let (scales, mins) = GGMLSearch.qkx8(32, nmax, xT, wT, levels, aux, rmin: rmin, rdelta: 0.1, steps: steps, absolute: false)
            for l in 0..<32 {
                let v = levels[l]
                for j in 0..<8 { L[32 * j + l] = UInt8(v[j]) }
            }
            var maxScale: Float = 0, maxMin: Float = 0
            for j in 0..<8 {
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
        requantize(x, nmax: nmax, block, levels: L)
    }

    /// `quantize_row_q4_K_impl` / `quantize_row_q5_K_impl` with importance: sub-blocks weighted by
    /// importance·√(σ² + x²) (σ² = 2·mean x² of the super-block), searched over 37 inverse scales,
    /// then d and dmin by `GGMLSearch.qp` weighted by each sub-block's total weight — or weighted by
    /// the importance alone unless `spread`. `clampScales`: Q5_K caps the 6-bit values at 63 before
    /// packing, Q4_K does not.
    static func weighted(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, spread: Bool, nmax: Int32, clampScales: Bool,
                         into block: UnsafeMutableRawPointer, levels L: UnsafeMutablePointer<UInt8>) {
        typealias Lanes = GGMLSearch.Lanes8
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 24) { scratch in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { bytes in
                withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 4 * 32) { lanes in
                    let scales = scratch.baseAddress!, mins = scales + 8, sw = mins + 8
                    let ls = bytes.baseAddress!, lm = ls + 8
                    let xT = lanes.baseAddress!, wT = xT + 32, levels = wT + 32, aux = levels + 32
                    var sumX2: Float = 0
                    for l in 0..<256 { sumX2 += x[l] * x[l] }
                    let sigma2 = 2 * sumX2 / 256
                    // The eight sub-blocks searched side by side, one per lane (`GGMLSearch.qkx8`).
                    var sum = Lanes()
                    for l in 0..<32 {
                        var v = Lanes(), w = Lanes()
                        for j in 0..<8 {
                            v[j] = x[32 * j + l]
                            w[j] = qw[32 * j + l]
                        }
                        xT[l] = v
                        wT[l] = spread ? w * (sigma2 + v * v).squareRoot() : w
                        sum += wT[l]
                    }
                    for j in 0..<8 { sw[j] = sum[j] }
                    let (s, m) = GGMLSearch.qkx8(32, nmax, xT, wT, levels, aux, rmin: -0.9, rdelta: 0.05, steps: 36, absolute: false)
                    for j in 0..<8 {
                        scales[j] = s[j]
                        mins[j] = m[j]
                    }
                    for l in 0..<32 {
                        let v = levels[l]
                        for j in 0..<8 { L[32 * j + l] = UInt8(v[j]) }
                    }
                    let d = GGMLSearch.qp(8, 63, scales, ls, sw)
                    let dm = GGMLSearch.qp(8, 63, mins, lm, sw)
                    for j in 0..<8 {
                        pack(clampScales ? Swift.min(63, ls[j]) : ls[j], clampScales ? Swift.min(63, lm[j]) : lm[j], j, into: block)
                    }
                    Half.store(d, block, 0)
                    Half.store(dm, block, 2)
                }
            }
        }
        requantize(x, nmax: nmax, block, levels: L)
    }

    /// Re-rounds every sub-block whose stored scale is not zero to the stored (fp16, 6-bit)
    /// parameters: L = clamp(round((x + dmin·m)/(d·sc)), 0, nmax).
    private static func requantize(_ x: UnsafePointer<Float>, nmax: Int32, _ block: UnsafeRawPointer, levels L: UnsafeMutablePointer<UInt8>) {
        let d = Half.load(block, 0), dmin = Half.load(block, 2)
        let raw = UnsafeRawPointer(x)
        for j in 0..<8 {
            let (sc, m) = scaleMin(block, j)
            let dl = d * Float(sc)
            if dl == 0 { continue }
            let ml = dmin * Float(m)
            // Element by element independent: eight at a time, the same division and rounding.
            for i in stride(from: 32 * j, to: 32 * (j + 1), by: 8) {
                let l = GGMLSearch.nearestInt8((raw.loadUnaligned(fromByteOffset: 4 * i, as: GGMLSearch.Lanes8.self) + ml) / dl,
                                               clampedTo: 0, nmax)
                for k in 0..<8 { L[i + k] = UInt8(l[k]) }
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

    /// How a type of eight 6-bit scaled sub-blocks (q4_K, q5_K) searches and stores its levels.
    struct Settings: Sendable {
        let nmax: Int32
        let rmin: Float
        let steps: Int
        let clampWeightedScales: Bool
        let blockBytes: Int
        let pack: @Sendable (UnsafePointer<UInt8>, UnsafeMutableRawPointer) -> Void
    }

    /// `encodeBlocks` of such a type: the reference search without importance; with it, the best
    /// of the reference, the weighted search and the weighted search without spreading (`BestOf`).
    static func encodeBlocks<T: SubBlockScaledType>(_ type: T.Type, _ settings: Settings, _ x: UnsafePointer<Float>, count: Int,
                                                    importance: UnsafePointer<Float>?, into out: UnsafeMutableRawPointer) {
        guard let importance else {
            for b in 0..<count { encode(x + 256 * b, settings, importance: nil, into: out + settings.blockBytes * b) }
            return
        }
        BestOf.encode(type, x, count: count, groupSize: 256, importance: importance, into: out,
                      [{ x, _, block in encode(x, settings, importance: nil, into: block) },
                       { x, w, block in encode(x, settings, importance: w, into: block) },
                       { x, w, block in encode(x, settings, importance: w, spread: false, into: block) }])
    }

    static func encode(_ x: UnsafePointer<Float>, _ settings: Settings, importance: UnsafePointer<Float>?, spread: Bool = true,
                       into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { levels in
            let L = levels.baseAddress!
            if let importance {
                weighted(x, importance, spread: spread, nmax: settings.nmax, clampScales: settings.clampWeightedScales, into: block, levels: L)
            } else {
                reference(x, nmax: settings.nmax, rmin: settings.rmin, steps: settings.steps, into: block, levels: L)
            }
            settings.pack(L, block)
        }
    }
}
