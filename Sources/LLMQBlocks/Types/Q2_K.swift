/// ggml's `block_q2_K`: 256 elements in 84 bytes (2.625 bits per weight) — sixteen sub-blocks of 16
/// with a 4-bit scale and a 4-bit minimum each under fp16 d and dmin; x = (d·sc)·q − dmin·m with
/// q in 0…3.
///
/// Encoding without importance is `quantize_row_q2_K_ref`: each sub-block's scale and minimum by
/// `GGMLSearch.qkx` (16 inverse scales, weights |x|, absolute error), the largest of each mapped
/// to 15, the levels re-rounded to the stored parameters. With importance, the best per
/// super-block of that, `quantize_row_q2_K_impl` (37 inverse scales weighted by
/// importance·√(σ² + x²), d and dmin by `GGMLSearch.qp`) and the same weighted by the importance
/// alone; `BestOf` then re-fits the winner's sub-block scales and minimums.
public enum Q2_K: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 16 | per sub-block: scale in the low nibble, minimum in the high nibble |
    /// | 16 | 64 | element e (h = e / 128, s = e % 128 / 32) in bits 2s…2s+1 of byte 32h + e % 32 |
    /// | 80 | 2 | d, fp16 |
    /// | 82 | 2 | dmin, fp16 |
    static let quantsOffset = 16, dOffset = 80, dminOffset = 82

    public static let name = "q2_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 10
    public static let ggufFileType: UInt32? = 10
    public static func blockBytes(groupSize: Int) -> Int { 84 }
    public static func halfParameters(groupSize: Int) -> [Int] { [dOffset, dminOffset] }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        guard let importance else {
            for b in 0..<count { encode(x + 256 * b, importance: nil, into: out + 84 * b) }
            return
        }
        BestOf.encode(Self.self, x, count: count, groupSize: 256, importance: importance, into: out,
                      [{ x, _, block in encode(x, importance: nil, into: block) },
                       { x, w, block in encode(x, importance: w, into: block) },
                       { x, w, block in encode(x, importance: w, spread: false, into: block) }])
    }

    static func encode(_ x: UnsafePointer<Float>, importance qw: UnsafePointer<Float>?, spread: Bool = true,
                       into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16 + 32) { bytes in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * 4) { floats in
                let L = bytes.baseAddress!, aux = L + 256, ls = aux + 16, lm = ls + 16
                let weight = floats.baseAddress!, scales = weight + 16, mins = scales + 16, sw = mins + 16
                let packed = block.assumingMemoryBound(to: UInt8.self)
                if let qw {
                    var sumX2: Float = 0
                    for j in 0..<256 { sumX2 += x[j] * x[j] }
                    let sigma2 = sumX2 / 256
                    search(x, qw, sigma2: spread ? sigma2 : nil, L, scales, mins, sw)
                    let d = GGMLSearch.qp(16, 15, scales, ls, sw), m = GGMLSearch.qp(16, 15, mins, lm, sw)
                    Half.store(d, block, dOffset)
                    Half.store(m, block, dminOffset)
                    for j in 0..<16 { packed[j] = ls[j] | lm[j] << 4 }
                } else {
                    var maxScale: Float = 0, maxMin: Float = 0
                    search(x, nil, L, scales, mins)
                    for j in 0..<16 {
                        if scales[j] > maxScale { maxScale = scales[j] }
                        if mins[j] > maxMin { maxMin = mins[j] }
                    }
                    if maxScale > 0 {
                        let iscale = 15 / maxScale
                        for j in 0..<16 { packed[j] = UInt8(truncatingIfNeeded: GGMLSearch.nearestInt(iscale * scales[j])) }
                        Half.store(maxScale / 15, block, dOffset)
                    } else {
                        for j in 0..<16 { packed[j] = 0 }
                        Half.store(0, block, dOffset)
                    }
                    if maxMin > 0 {
                        let iscale = 15 / maxMin
                        for j in 0..<16 { packed[j] |= UInt8(truncatingIfNeeded: GGMLSearch.nearestInt(iscale * mins[j]) << 4) }
                        Half.store(maxMin / 15, block, dminOffset)
                    } else {
                        Half.store(0, block, dminOffset)
                    }
                }
                let d = Half.load(block, dOffset), dmin = Half.load(block, dminOffset)
                for j in 0..<16 {
                    let dl = d * Float(packed[j] & 0xF)
                    if dl == 0 { continue }
                    let ml = dmin * Float(packed[j] >> 4)
                    for i in 16 * j..<16 * (j + 1) {
                        L[i] = UInt8(max(0, min(3, GGMLSearch.nearestInt((x[i] + ml) / dl))))
                    }
                }
                pack(L, into: block)
            }
        }
    }

    /// The scale searches (`GGMLSearch.qkx`), eight sub-blocks side by side (`GGMLSearch.qkx8`):
    /// without importance `quantize_row_q2_K_ref`'s (weights |x|, absolute error), with it
    /// `quantize_row_q2_K_impl`'s (weights importance·√(σ² + x²), or the importance alone when
    /// `sigma2` is nil; each sub-block's total weight to `sw`). Scales and minimums out, levels to L.
    private static func search(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>?, sigma2: Float? = nil,
                               _ L: UnsafeMutablePointer<UInt8>, _ scales: UnsafeMutablePointer<Float>,
                               _ mins: UnsafeMutablePointer<Float>, _ sw: UnsafeMutablePointer<Float>? = nil) {
        typealias Lanes = GGMLSearch.Lanes8
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 4 * 16) { scratch in
            let xT = scratch.baseAddress!, wT = xT + 16, levels = wT + 16, aux = levels + 16
            for half in 0..<2 {
                let x0 = x + 128 * half
                var sum = Lanes()
                for l in 0..<16 {
                    var v = Lanes()
                    for j in 0..<8 { v[j] = x0[16 * j + l] }
                    xT[l] = v
                    if let qw {
                        var w = Lanes()
                        for j in 0..<8 { w[j] = qw[128 * half + 16 * j + l] }
                        if let sigma2 { w = w * (sigma2 + v * v).squareRoot() }
                        wT[l] = w
                        sum += w
                    } else {
                        wT[l] = GGMLSearch.abs8(v)
                    }
                }
                let (s, m) = qw == nil
                    ? GGMLSearch.qkx8(16, 3, xT, wT, levels, aux, rmin: -0.5, rdelta: 0.1, steps: 15, absolute: true)
                    : GGMLSearch.qkx8(16, 3, xT, wT, levels, aux, rmin: -0.9, rdelta: 0.05, steps: 36, absolute: false)
                for j in 0..<8 {
                    scales[8 * half + j] = s[j]
                    mins[8 * half + j] = m[j]
                    sw?[8 * half + j] = sum[j]
                }
                for l in 0..<16 {
                    let v = levels[l]
                    for j in 0..<8 { L[128 * half + 16 * j + l] = UInt8(v[j]) }
                }
            }
        }
    }

    /// Writes the 256 levels 0…3 as bit pairs.
    private static func pack(_ L: UnsafePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        let qs = (block + quantsOffset).assumingMemoryBound(to: UInt8.self)
        for h in 0..<2 {
            let l0 = L + 128 * h
            for l in 0..<32 { qs[32 * h + l] = l0[l] | l0[l + 32] << 2 | l0[l + 64] << 4 | l0[l + 96] << 6 }
        }
    }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 84
            let scales = block, qs = block + quantsOffset
            let d = Half.load(block, dOffset), dmin = Half.load(block, dminOffset)
            let y = out + b * 256
            for group in 0..<16 {
                let sc = scales.load(fromByteOffset: group, as: UInt8.self)
                let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                for e in group * 16..<(group + 1) * 16 {
                    let byte = qs.load(fromByteOffset: 32 * (e / 128) + e % 32, as: UInt8.self)
                    let q = (byte >> UInt8(2 * (e % 128 / 32))) & 3
                    y[e] = dl * Float(q) - ml
                }
            }
        }
    }

    public static func subBlockSize(groupSize: Int) -> Int { 16 }
    public static let levels: ClosedRange<Int32> = 0...3
    public static let scaleRange: ClosedRange<Int32> = 0...15
    public static let minRange: ClosedRange<Int32> = 0...15

    public static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters) {
        p.d = Half.load(block, dOffset)
        p.dmin = Half.load(block, dminOffset)
        for j in 0..<16 {
            let sc = block.load(fromByteOffset: j, as: UInt8.self)
            p.scales[j] = Int32(sc & 0xF)
            p.mins[j] = Int32(sc >> 4)
        }
    }

    public static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer) {
        Half.store(p.d, block, dOffset)
        Half.store(p.dmin, block, dminOffset)
        for j in 0..<16 { block.storeBytes(of: UInt8(p.scales[j] | p.mins[j] << 4), toByteOffset: j, as: UInt8.self) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { L in
            for i in 0..<256 { L[i] = UInt8(levels[i]) }
            pack(L.baseAddress!, into: block)
        }
    }
}

extension DType {
    public static let q2_K = DType(Q2_K.self)
}
