/// Error-minimizing block parameters: instead of deriving a block's scale from its extremes (the
/// ggml reference rounding), try a fan of candidate scales, give each its least-squares optimum for
/// the levels it rounds to, and keep the one with the smallest weighted squared error
/// Σ w[i]·(x[i] − x̂[i])² — the idea of ggml's `make_qx_quants` / `make_qkx2_quants`, evaluated
/// here with the scale (and minimum) as the block stores them, in fp16.
///
/// Cost: `candidates` + 2 passes over the block per block instead of one (about 25× the reference
/// rounding's arithmetic; `docs/quantization.md` states the measured time).
public enum ScaleSearch {
    /// Inverse-scale candidates per side of the grid: the extreme element is mapped to
    /// level ± (edge − 1 … edge + 1) in steps of 0.1.
    public static let steps = 21

    /// x̂ = d·q with integer q in `lowest...highest` (q4_0: −8...7, q8_0: −127...127). Writes the
    /// chosen levels to `levels` and returns d (already fp16-representable).
    public static func symmetric(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, lowest: Int32, highest: Int32,
                          levels: UnsafeMutablePointer<Int32>) -> Float {
        var amax: Float = 0, extreme: Float = 0
        for i in 0..<n where abs(x[i]) > amax { amax = abs(x[i]); extreme = x[i] }
        guard amax > 0 else {
            for i in 0..<n { levels[i] = 0 }
            return 0
        }
        var best = -Float.infinity, bestScale: Float = 0
        // The extreme element on either end of the (possibly lopsided) grid.
        for edge in [Float(lowest), Float(highest)] {
            for s in 0..<steps {
                let target = edge + (edge < 0 ? 1 : -1) * (Float(s) - Float(steps / 2)) * 0.1
                let inverse = target / extreme
                var sxl: Float = 0, sll: Float = 0
                for i in 0..<n {
                    let l = Float(level(x[i] * inverse, lowest, highest))
                    sxl += w[i] * x[i] * l
                    sll += w[i] * l * l
                }
                // The optimal d for these levels is sxl/sll, lowering the error by sxl²/sll.
                if sll > 0, sxl * sxl / sll > best { best = sxl * sxl / sll; bestScale = sxl / sll }
            }
        }
        if bestScale == 0 { bestScale = extreme / Float(lowest) }
        // Refine in the stored precision: round d to fp16, re-round the levels, refit, twice.
        var d = Float(Float16(bestScale)), bestError = Float.infinity, bestD = d
        for _ in 0..<2 {
            let inverse = d != 0 ? 1 / d : 0
            var error: Float = 0, sxl: Float = 0, sll: Float = 0
            for i in 0..<n {
                let l = level(x[i] * inverse, lowest, highest)
                let e = x[i] - d * Float(l)
                error += w[i] * e * e
                sxl += w[i] * x[i] * Float(l)
                sll += w[i] * Float(l) * Float(l)
            }
            if error < bestError { bestError = error; bestD = d }
            guard sll > 0 else { break }
            d = Float(Float16(sxl / sll))
        }
        let inverse = bestD != 0 ? 1 / bestD : 0
        for i in 0..<n { levels[i] = level(x[i] * inverse, lowest, highest) }
        return bestD
    }

    /// x̂ = d·q + m with integer q in 0...top (q4_1: 15). Writes the levels and returns (d, m),
    /// both fp16-representable.
    public static func affine(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, top: Int32,
                       levels: UnsafeMutablePointer<Int32>) -> (d: Float, m: Float) {
        var lo = x[0], hi = x[0]
        for i in 1..<n { lo = min(lo, x[i]); hi = max(hi, x[i]) }
        guard hi > lo else {
            for i in 0..<n { levels[i] = 0 }
            return (0, Float(Float16(lo)))
        }
        var sw: Float = 0, swx: Float = 0
        for i in 0..<n { sw += w[i]; swx += w[i] * x[i] }
        var bestError = Float.infinity, best = (d: (hi - lo) / Float(top), m: lo)
        for s in 0..<steps {
            let inverse = (Float(top) + (Float(s) - Float(steps / 2)) * 0.1) / (hi - lo)
            var swl: Float = 0, swll: Float = 0, swlx: Float = 0
            for i in 0..<n {
                let l = Float(level((x[i] - lo) * inverse, 0, top))
                swl += w[i] * l
                swll += w[i] * l * l
                swlx += w[i] * l * x[i]
            }
            // Weighted least squares for (d, m) given the levels.
            let det = sw * swll - swl * swl
            guard det > 0 else { continue }
            let d = (sw * swlx - swl * swx) / det
            let m = (swll * swx - swl * swlx) / det
            let error = affineError(x, w, n, d: Float(Float16(d)), m: Float(Float16(m)), top: top, levels: nil)
            if error < bestError { bestError = error; best = (d, m) }
        }
        let d = Float(Float16(best.d)), m = Float(Float16(best.m))
        _ = affineError(x, w, n, d: d, m: m, top: top, levels: levels)
        return (d, m)
    }

    /// Σ w·(x − (d·q + m))² with each q rounded to the nearest level; the levels go to `levels`.
    @inline(__always)
    private static func affineError(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ n: Int, d: Float, m: Float,
                                    top: Int32, levels: UnsafeMutablePointer<Int32>?) -> Float {
        let inverse = d != 0 ? 1 / d : 0
        var error: Float = 0
        for i in 0..<n {
            let l = level((x[i] - m) * inverse, 0, top)
            let e = x[i] - (d * Float(l) + m)
            error += w[i] * e * e
            levels?[i] = l
        }
        return error
    }

    /// v rounded to the nearest integer and clamped to lowest...highest; NaN (an overflowing
    /// block, which `Quantize` then rejects for its infinite scale) gives `lowest`.
    @inline(__always)
    private static func level(_ v: Float, _ lowest: Int32, _ highest: Int32) -> Int32 {
        let r = v.rounded()
        return r >= Float(highest) ? highest : r >= Float(lowest) ? Int32(r) : lowest
    }
}
