/// The 16 non-uniform levels of IQ4_NL and IQ4_XS (ggml's `kvalues_iq4nl`): denser near zero,
/// where most weights are, than a uniform 4-bit grid. x = d · value.
enum IQ4Grid {
    static let values: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    @inline(__always)
    static func value(_ i: Int) -> Float { Float(values.withUnsafeBufferPointer { $0[i] }) }

    /// ggml's `best_index_int8`: the index of the level nearest t by binary search, the lower one
    /// on a tie; NaN gives 15.
    @inline(__always)
    static func nearest(_ t: Float) -> Int {
        if t <= value(0) { return 0 }
        if t >= value(15) { return 15 }
        var low = 0, high = 15
        while high - low > 1 {
            let mid = (low + high) / 2
            if t < value(mid) { high = mid } else { low = mid }
        }
        return t - value(high - 1) < value(high) - t ? high - 1 : high
    }

    /// ggml's `quantize_row_iq4_nl_impl` with ntry = 7 — what `quantize_iq4_nl` and
    /// `quantize_iq4_xs` run — for one block of n = 32 (IQ4_NL: fp16 d, 16 bytes of indices) or
    /// n = 256 (IQ4_XS: fp16 d, 6-bit sub-block scales, 128 bytes of indices). Each 32 values get
    /// the scale that, among 15 around max/−127 refitted by least squares, has the least
    /// Σ w·(x − d·value)², w = x² — or importance·√(σ² + x²) with `importance` (σ² = 2·mean x²;
    /// the importance alone unless `spread`);
    /// IQ4_XS then quantizes those scales to 6 bits of d = −max scale/32 and re-rounds the values.
    static func encode(_ x: UnsafePointer<Float>, _ n: Int, importance qw: UnsafePointer<Float>?, spread: Bool = true,
                       into block: UnsafeMutableRawPointer) {
        let subBlocks = n / 32
        let quants = (block + (subBlocks > 1 ? 8 : 2)).assumingMemoryBound(to: UInt8.self)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32 + subBlocks) { scratch in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { levels in
                let weight = scratch.baseAddress!, scales = weight + 32, L = levels.baseAddress!
                var sigma2: Float = 0
                for j in 0..<n { sigma2 += x[j] * x[j] }
                sigma2 *= 2 / Float(n)
                for j in 0..<n / 2 { quants[j] = 0 }
                Half.store(0, block, 0)
                var maxScale: Float = 0, amaxScale: Float = 0
                for ib in 0..<subBlocks {
                    let xb = x + 32 * ib, Lb = L + 32 * ib
                    if let qw {
                        for j in 0..<32 { weight[j] = spread ? qw[32 * ib + j] * (sigma2 + xb[j] * xb[j]).squareRoot() : qw[32 * ib + j] }
                    } else {
                        for j in 0..<32 { weight[j] = xb[j] * xb[j] }
                    }
                    var amax: Float = 0, max: Float = 0
                    for j in 0..<32 where abs(xb[j]) > amax {
                        amax = abs(xb[j])
                        max = xb[j]
                    }
                    if amax < GGMLSearch.groupMaxEps {
                        scales[ib] = 0
                        continue
                    }
                    var d = -max / value(0)
                    var id = 1 / d
                    var sumqx: Float = 0, sumq2: Float = 0
                    for j in 0..<32 {
                        let l = nearest(id * xb[j])
                        Lb[j] = UInt8(l)
                        let q = value(l), w = weight[j]
                        sumqx += w * q * xb[j]
                        sumq2 += w * q * q
                    }
                    d = sumq2 > 0 ? sumqx / sumq2 : 0
                    var best = d * sumqx
                    for t in -7...7 {
                        id = Float(t - 127) / max
                        sumqx = 0
                        sumq2 = 0
                        for j in 0..<32 {
                            let q = value(nearest(id * xb[j])), w = weight[j]
                            sumqx += w * q * xb[j]
                            sumq2 += w * q * q
                        }
                        if sumq2 > 0, sumqx * sumqx > best * sumq2 {
                            d = sumqx / sumq2
                            best = d * sumqx
                        }
                    }
                    scales[ib] = d
                    if abs(d) > amaxScale {
                        amaxScale = abs(d)
                        maxScale = d
                    }
                }
                if subBlocks > 1 {
                    var high: UInt16 = 0
                    let low = (block + 4).assumingMemoryBound(to: UInt8.self)
                    let d = -maxScale / 32
                    Half.store(d, block, 0)
                    let id = d != 0 ? 1 / d : 0
                    for ib in 0..<subBlocks {
                        var l = Swift.max(-32, Swift.min(31, GGMLSearch.nearestInt(id * scales[ib])))
                        let dl = d * Float(l)
                        let idl = dl != 0 ? 1 / dl : 0
                        for j in 0..<32 { L[32 * ib + j] = UInt8(nearest(idl * x[32 * ib + j])) }
                        l += 32
                        let lowBits = UInt8(l & 0xF)
                        low[ib / 2] = ib % 2 == 0 ? lowBits : low[ib / 2] | lowBits << 4
                        high |= UInt16(l >> 4) << UInt16(2 * (ib % 8))
                    }
                    block.storeBytes(of: high.littleEndian, toByteOffset: 2, as: UInt16.self)
                } else {
                    Half.store(scales[0], block, 0)
                    let id = scales[0] != 0 ? 1 / scales[0] : 0
                    for j in 0..<n { L[j] = UInt8(nearest(id * x[j])) }
                }
                for i in 0..<n / 32 {
                    for j in 0..<16 { quants[16 * i + j] = L[32 * i + j] | L[32 * i + 16 + j] << 4 }
                }
            }
        }
    }
}
