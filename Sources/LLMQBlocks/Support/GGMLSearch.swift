/// ggml's scale searches for the K-quants (`ggml-quants.c`), reimplemented operation for operation
/// in fp32 — the same products and sums in the same order, the same integer truncations — because
/// the reference encoders must produce llama.cpp's bytes exactly. Names follow ggml's so the two
/// can be read side by side; `formats/blocks.md` states what each encoder does with them.
enum GGMLSearch {
    /// A block whose largest magnitude is below this is all zero (ggml's GROUP_MAX_EPS).
    static let groupMaxEps: Float = 1e-15

    /// ggml's `nearest_int`: adding 1.5·2²³ rounds to an integer (ties to even) in the mantissa,
    /// whose bits are read back — out-of-range values wrap exactly as they do in C.
    @inline(__always)
    static func nearestInt(_ f: Float) -> Int32 {
        Int32(bitPattern: (f + 12_582_912).bitPattern & 0x7F_FFFF) - 0x40_0000
    }

    /// `make_qx_quants` with rmse_type 1: x ≈ scale·(L − nmax), L in 0..<2·nmax, minimising
    /// Σ w·(x − x̂)² with w = `weights` (x² when nil) over 19 candidate scales. Returns the scale.
    static func qx(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>,
                   weights qw: UnsafePointer<Float>?) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax {
            amax = abs(x[i])
            max = x[i]
        }
        if amax < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let top = Float(nmax)
        @inline(__always) func level(_ i: Int, _ iscale: Float) -> Int32 { Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i]))) }
        @inline(__always) func weight(_ i: Int) -> Float { qw?[i] ?? x[i] * x[i] }
        var iscale = -top / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = level(i, iscale), w = weight(i)
            L[i] = Int8(truncatingIfNeeded: l + nmax)
            sumlx += w * x[i] * Float(l)
            suml2 += w * Float(l) * Float(l)
        }
        var scale = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for s in -9...9 where s != 0 {
            iscale = -(top + 0.1 * Float(s)) / max
            sumlx = 0
            suml2 = 0
            for i in 0..<n {
                let l = level(i, iscale), w = weight(i)
                sumlx += w * x[i] * Float(l)
                suml2 += w * Float(l) * Float(l)
            }
            if suml2 > 0, sumlx * sumlx > best * suml2 {
                for i in 0..<n { L[i] = Int8(truncatingIfNeeded: level(i, iscale) + nmax) }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    /// `make_q3_quants` with do_rmse: levels −nmax..<nmax weighted by x², improved one element at
    /// a time (five passes at most); L gets level + nmax. Returns the scale. The encoders call the
    /// lane form, `q3x8`; this is the scalar statement it mirrors.
    static func q3(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>) -> Float {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n where abs(x[i]) > amax {
            amax = abs(x[i])
            max = x[i]
        }
        if amax < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        @inline(__always) func clamp(_ l: Int32) -> Int32 { Swift.max(-nmax, Swift.min(nmax - 1, l)) }
        let iscale = -Float(nmax) / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = clamp(nearestInt(iscale * x[i]))
            L[i] = Int8(truncatingIfNeeded: l)
            let w = x[i] * x[i]
            sumlx += w * x[i] * Float(l)
            suml2 += w * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = false
            for i in 0..<n {
                let w = x[i] * x[i], current = Float(L[i])
                var slx = sumlx - w * x[i] * current
                guard slx > 0 else { continue }
                var sl2 = suml2 - w * current * current
                let new = clamp(nearestInt(x[i] * sl2 / slx))
                guard new != Int32(L[i]) else { continue }
                slx += w * x[i] * Float(new)
                sl2 += w * Float(new) * Float(new)
                if sl2 > 0, slx * slx * suml2 > sumlx * sumlx * sl2 {
                    L[i] = Int8(truncatingIfNeeded: new)
                    sumlx = slx
                    suml2 = sl2
                    changed = true
                }
            }
            if !changed { break }
        }
        for i in 0..<n { L[i] = L[i] &+ Int8(truncatingIfNeeded: nmax) }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// `make_qkx2_quants` (and `make_qkx3_quants`, the same for given weights): x ≈ scale·L − min
    /// with L in 0...nmax and min ≥ 0, trying inverse scales (rmin + rdelta·s + nmax)/(max − min)
    /// for s in 0...steps, each refitted by weighted least squares; the error is Σ w·|x − x̂| when
    /// `absolute`, else Σ w·(x − x̂)². `aux` is room for n levels.
    static func qkx(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>,
                    _ L: UnsafeMutablePointer<UInt8>, _ aux: UnsafeMutablePointer<UInt8>,
                    rmin: Float, rdelta: Float, steps: Int, absolute: Bool) -> (scale: Float, min: Float) {
        var min = x[0], max = x[0]
        var sumW = w[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            sumW += w[i]
            sumX += w[i] * x[i]
        }
        if min > 0 { min = 0 }
        if max == min {
            for i in 0..<n { L[i] = 0 }
            return (0, -min)
        }
        let top = Float(nmax)
        @inline(__always) func level(_ i: Int, _ iscale: Float, _ min: Float) -> UInt8 {
            UInt8(truncatingIfNeeded: Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - min)))))
        }
        @inline(__always) func cost(_ d: Float) -> Float { absolute ? abs(d) : d * d }
        var iscale = top / (max - min)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            L[i] = level(i, iscale, min)
            bestError += w[i] * cost(scale * Float(L[i]) + min - x[i])
        }
        for s in 0...steps {
            iscale = (rmin + rdelta * Float(s) + top) / (max - min)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = level(i, iscale, min)
                aux[i] = l
                let fl = Float(l)
                sumL += w[i] * fl
                sumL2 += w[i] * fl * fl
                sumXL += w[i] * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            guard D > 0 else { continue }
            var thisScale = (sumW * sumXL - sumX * sumL) / D
            var thisMin = (sumL2 * sumX - sumL * sumXL) / D
            if thisMin > 0 {
                thisMin = 0
                thisScale = sumXL / sumL2
            }
            var error: Float = 0
            for i in 0..<n { error += w[i] * cost(thisScale * Float(aux[i]) + thisMin - x[i]) }
            if error < bestError {
                for i in 0..<n { L[i] = aux[i] }
                bestError = error
                scale = thisScale
                min = thisMin
            }
        }
        return (scale, -min)
    }

    /// `make_qp_quants`: the super-block's scale for n sub-block scales (or minimums) x ≥ 0,
    /// x ≈ scale·L with L in 0...nmax, weighted by `qw`: eight candidates around nmax/max, then
    /// up to five passes moving single levels. Levels are stored as C's uint8_t keeps them.
    static func qp(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<UInt8>,
                   _ qw: UnsafePointer<Float>) -> Float {
        var max: Float = 0
        for i in 0..<n { max = max > x[i] ? max : x[i] }
        if max < groupMaxEps {
            for i in 0..<n { L[i] = 0 }
            return 0
        }
        let top = Float(nmax)
        var iscale = top / max
        for i in 0..<n { L[i] = UInt8(truncatingIfNeeded: nearestInt(iscale * x[i])) }
        let scale = 1 / iscale
        var bestMSE: Float = 0
        for i in 0..<n {
            let diff = x[i] - scale * Float(L[i])
            bestMSE += qw[i] * diff * diff
        }
        for s in -4...4 where s != 0 {
            let candidate = (0.1 * Float(s) + top) / max
            let candidateScale = 1 / candidate
            var mse: Float = 0
            for i in 0..<n {
                let diff = x[i] - candidateScale * Float(Swift.min(nmax, nearestInt(candidate * x[i])))
                mse += qw[i] * diff * diff
            }
            if mse < bestMSE {
                bestMSE = mse
                iscale = candidate
            }
        }
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = Swift.min(nmax, nearestInt(iscale * x[i]))
            L[i] = UInt8(truncatingIfNeeded: l)
            sumlx += qw[i] * x[i] * Float(l)
            suml2 += qw[i] * Float(l) * Float(l)
        }
        for _ in 0..<5 {
            var changed = false
            for i in 0..<n {
                let w = qw[i], current = Float(L[i])
                var slx = sumlx - w * x[i] * current
                var sl2 = suml2 - w * current * current
                guard slx > 0, sl2 > 0 else { continue }
                let new = Swift.min(nmax, nearestInt(x[i] * sl2 / slx))
                guard new != Int32(L[i]) else { continue }
                slx += w * x[i] * Float(new)
                sl2 += w * Float(new) * Float(new)
                if slx * slx * suml2 > sumlx * sumlx * sl2 {
                    L[i] = UInt8(truncatingIfNeeded: new)
                    sumlx = slx
                    suml2 = sl2
                    changed = true
                }
            }
            if !changed { break }
        }
        return suml2 > 0 ? sumlx / suml2 : 0
    }
}
