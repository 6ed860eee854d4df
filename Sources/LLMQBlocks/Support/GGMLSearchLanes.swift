/// `GGMLSearch.qkx` and `GGMLSearch.qx` run on several sub-blocks at once, one per SIMD lane.
///
/// The scalar searches are bound by the latency of their running sums: llama.cpp adds in element
/// order, and its bytes depend on that order, so the sums cannot be split or reassociated. Sub-blocks
/// are independent, though, so each lane here carries one sub-block's search through exactly the
/// scalar operations in exactly their order (IEEE fp32 per lane, no fused multiply-adds), and the
/// branches become per-lane selects. Inputs are transposed: `x[i]` holds element i of every lane's
/// sub-block. Levels come back as exact small integers in Float lanes.
extension GGMLSearch {
    typealias Lanes8 = SIMD8<Float>

    /// `nearestInt` of every lane, as a Float: the same mantissa bits (so out-of-range values wrap
    /// as in C), read back as 2²³ + m and less 1.5·2²³ — exact for every result in −2²²..<2²².
    @inline(__always)
    static func nearestInt8(_ f: Lanes8) -> Lanes8 {
        let bits = unsafeBitCast(f + 12_582_912, to: SIMD8<UInt32>.self) & 0x7F_FFFF | 0x4B00_0000
        return unsafeBitCast(bits, to: Lanes8.self) - 12_582_912
    }

    /// `max(lo, min(hi, nearestInt(f)))` of every lane, as a Float. (Clamped with Float selects:
    /// with this toolchain stdlib's integer SIMD min/max and masked replaces are not inlined.)
    @inline(__always)
    static func nearestInt8(_ f: Lanes8, clampedTo lo: Int32, _ hi: Int32) -> Lanes8 {
        var l = nearestInt8(f)
        let top = Float(hi), bottom = Float(lo)
        l.replace(with: top, where: l .> top)
        l.replace(with: bottom, where: l .< bottom)
        return l
    }

    /// `qkx` on eight sub-blocks of n: `x`, `w` hold n transposed vectors; `L` gets the levels,
    /// `aux` is room for n vectors. Per lane the result is `qkx`'s.
    static func qkx8(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Lanes8>, _ w: UnsafePointer<Lanes8>,
                     _ L: UnsafeMutablePointer<Lanes8>, _ aux: UnsafeMutablePointer<Lanes8>,
                     rmin: Float, rdelta: Float, steps: Int, absolute: Bool) -> (scale: Lanes8, min: Lanes8) {
        var min = x[0], max = x[0]
        var sumW = w[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            min.replace(with: x[i], where: x[i] .< min)
            max.replace(with: x[i], where: x[i] .> max)
            sumW += w[i]
            sumX += w[i] * x[i]
        }
        min.replace(with: 0, where: min .> 0)
        // Lanes with max == min are all-zero sub-blocks: the scalar search returns before searching.
        let flat = max .== min, flatMin = min
        let top = Float(nmax)
        @inline(__always) func level(_ i: Int, _ iscale: Lanes8, _ min: Lanes8) -> Lanes8 {
            nearestInt8(iscale * (x[i] - min), clampedTo: 0, nmax)
        }
        @inline(__always) func cost(_ d: Lanes8) -> Lanes8 { absolute ? abs8(d) : d * d }
        var iscale = top / (max - min)
        var scale = 1 / iscale
        var bestError = Lanes8()
        for i in 0..<n {
            let l = level(i, iscale, min)
            L[i] = l
            bestError += w[i] * cost(scale * l + min - x[i])
        }
        for s in 0...steps {
            // max − min with the current min, as the scalar loop divides by.
            iscale = (rmin + rdelta * Float(s) + top) / (max - min)
            var sumL = Lanes8(), sumL2 = Lanes8(), sumXL = Lanes8()
            for i in 0..<n {
                let l = level(i, iscale, min)
                aux[i] = l
                let wl = w[i] * l
                sumL += wl
                sumL2 += wl * l
                sumXL += wl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D
            let positive = thisMin .> 0
            thisMin.replace(with: 0, where: positive)
            thisScale.replace(with: sumXL / sumL2, where: positive)
            var error = Lanes8()
            if absolute {
                for i in 0..<n { error += w[i] * abs8(thisScale * aux[i] + thisMin - x[i]) }
            } else {
                for i in 0..<n {
                    let d = thisScale * aux[i] + thisMin - x[i]
                    error += w[i] * (d * d)
                }
            }
            let better = (D .> 0) .& (error .< bestError)
            if any(better) {
                for i in 0..<n { L[i].replace(with: aux[i], where: better) }
                bestError.replace(with: error, where: better)
                scale.replace(with: thisScale, where: better)
                min.replace(with: thisMin, where: better)
            }
        }
        if any(flat) {
            for i in 0..<n { L[i].replace(with: 0, where: flat) }
            scale.replace(with: 0, where: flat)
            min.replace(with: flatMin, where: flat)
        }
        return (scale, -min)
    }

    /// Per lane, the value of largest magnitude (the first of equal ones, as ggml's loops keep) and
    /// that magnitude: where `qx` and `q3` anchor their scales.
    @inline(__always)
    static func signedMax8(_ n: Int, _ x: UnsafePointer<Lanes8>) -> (max: Lanes8, amax: Lanes8) {
        var max = Lanes8(), amax = Lanes8()
        for i in 0..<n {
            let a = abs8(x[i]), larger = a .> amax
            amax.replace(with: a, where: larger)
            max.replace(with: x[i], where: larger)
        }
        return (max, amax)
    }

    /// `qx` on eight sub-blocks of n: `x` (and `weights`, x² when nil) hold n transposed vectors,
    /// `L` gets level + nmax (0 for all-zero sub-blocks), `aux` is room for n vectors.
    static func qx8(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Lanes8>, _ L: UnsafeMutablePointer<Lanes8>,
                    _ aux: UnsafeMutablePointer<Lanes8>, weights: UnsafePointer<Lanes8>?) -> Lanes8 {
        let (max, amax) = signedMax8(n, x)
        let zero = amax .< groupMaxEps
        let top = Float(nmax)
        @inline(__always) func level(_ i: Int, _ iscale: Lanes8) -> Lanes8 { nearestInt8(iscale * x[i], clampedTo: -nmax, nmax - 1) }
        @inline(__always) func weight(_ i: Int) -> Lanes8 { weights?[i] ?? x[i] * x[i] }
        var iscale = -top / max
        var sumlx = Lanes8(), suml2 = Lanes8()
        for i in 0..<n {
            let l = level(i, iscale), w = weight(i)
            L[i] = l + top
            sumlx += w * x[i] * l
            suml2 += w * l * l
        }
        var scale = (sumlx / suml2).replacing(with: 0, where: suml2 .== 0)
        var best = scale * sumlx
        for s in -9...9 where s != 0 {
            iscale = -(top + 0.1 * Float(s)) / max
            sumlx = Lanes8()
            suml2 = Lanes8()
            for i in 0..<n {
                let l = level(i, iscale), w = weight(i)
                aux[i] = l
                sumlx += w * x[i] * l
                suml2 += w * l * l
            }
            let better = (suml2 .> 0) .& (sumlx * sumlx .> best * suml2)
            if any(better) {
                for i in 0..<n { L[i].replace(with: aux[i] + top, where: better) }
                scale.replace(with: sumlx / suml2, where: better)
                best.replace(with: scale * sumlx, where: better)
            }
        }
        if any(zero) {
            for i in 0..<n { L[i].replace(with: 0, where: zero) }
            scale.replace(with: 0, where: zero)
        }
        return scale
    }

    /// `q3` on eight sub-blocks of n: `x` holds n transposed vectors, `L` gets level + nmax (0 for
    /// all-zero sub-blocks). Passes continue while any lane changes: a lane whose pass changed
    /// nothing would change nothing in the next either, which is why the scalar loop stops there.
    static func q3x8(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Lanes8>, _ L: UnsafeMutablePointer<Lanes8>) -> Lanes8 {
        let (max, amax) = signedMax8(n, x)
        let zero = amax .< groupMaxEps
        let top = Float(nmax)
        let iscale = -top / max
        var sumlx = Lanes8(), suml2 = Lanes8()
        for i in 0..<n {
            let l = nearestInt8(iscale * x[i], clampedTo: -nmax, nmax - 1)
            L[i] = l
            let w = x[i] * x[i]
            sumlx += w * x[i] * l
            suml2 += w * l * l
        }
        for _ in 0..<5 {
            var changed = SIMDMask<SIMD8<Int32>>()
            for i in 0..<n {
                let w = x[i] * x[i], current = L[i]
                var slx = sumlx - w * x[i] * current
                var sl2 = suml2 - w * current * current
                let new = nearestInt8(x[i] * sl2 / slx, clampedTo: -nmax, nmax - 1)
                let candidate = (slx .> 0) .& (new .!= current)
                slx += w * x[i] * new
                sl2 += w * new * new
                let accept = candidate .& (sl2 .> 0) .& (slx * slx * suml2 .> sumlx * sumlx * sl2)
                L[i].replace(with: new, where: accept)
                sumlx.replace(with: slx, where: accept)
                suml2.replace(with: sl2, where: accept)
                changed = changed .| accept
            }
            if !any(changed) { break }
        }
        for i in 0..<n { L[i] = (L[i] + top).replacing(with: 0, where: zero) }
        return (sumlx / suml2).replacing(with: 0, where: zero .| .!(suml2 .> 0))
    }

    @inline(__always)
    static func abs8(_ v: Lanes8) -> Lanes8 {
        unsafeBitCast(unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Lanes8.self)
    }
}
