/// ggml's `block_q3_K`: 256 elements in 110 bytes (3.4375 bits per weight) — sixteen sub-blocks of
/// 16 with a signed 6-bit scale each under an fp16 d; x = (d·sc)·q with sc in −32…31, q in −4…3.
///
/// Encoding without importance is `quantize_row_q3_K_ref`: each sub-block's scale by
/// `GGMLSearch.q3`, the one of largest magnitude mapped to −32, the levels re-rounded to the stored
/// scales. With importance, the best per super-block of that, `quantize_row_q3_K_impl`
/// (sub-block scales by `GGMLSearch.qx` weighted by importance·√(σ² + x²), their 6-bit values by
/// the same search weighted by each sub-block's total weight) and the same weighted by the
/// importance alone; `BestOf` then re-fits the winner's sub-block scales.
public enum Q3_K: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 32 | hmask: element e's third bit is bit e / 32 of hmask[e % 32] (set: q ≥ 0) |
    /// | 32 | 64 | qs: the low two bits, element e (h = e / 128, s = e % 128 / 32) in bits 2s…2s+1 of qs[32h + e % 32] |
    /// | 96 | 12 | scales + 32 as 6 bits: low nibble of scale i in byte i % 8 (high half when i ≥ 8), top bits in byte 8 + i % 4, bits 2·(i / 4) |
    /// | 108 | 2 | d, fp16 |
    static let quantsOffset = 32, scalesOffset = 96, dOffset = 108

    public static let name = "q3_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 11
    public static let ggufFileType: UInt32? = 12
    public static func blockBytes(groupSize: Int) -> Int { 110 }
    public static func halfParameters(groupSize: Int) -> [Int] { [dOffset] }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        guard let importance else {
            for b in 0..<count { encode(x + 256 * b, importance: nil, into: out + 110 * b) }
            return
        }
        BestOf.encode(Self.self, x, count: count, groupSize: 256, importance: importance, into: out,
                      [{ x, _, block in encode(x, importance: nil, into: block) },
                       { x, w, block in encode(x, importance: w, into: block) },
                       { x, w, block in encode(x, importance: w, spread: false, into: block) }])
    }

    static func encode(_ x: UnsafePointer<Float>, importance qw: UnsafePointer<Float>?, spread: Bool = true,
                       into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256 + 16) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 + 16 + 16) { floats in
                let L = levels.baseAddress!, Ls = L + 256
                let scales = floats.baseAddress!, weight = scales + 16, sw = weight + 16
                let packed = (block + scalesOffset).assumingMemoryBound(to: UInt8.self)
                for i in 0..<12 { packed[i] = 0 }
                if let qw {
                    var sumX2: Float = 0
                    for j in 0..<256 { sumX2 += x[j] * x[j] }
                    let sigma2 = 2 * sumX2 / 256
                    weightedSearch(x, qw, sigma2: spread ? sigma2 : nil, L, scales, sw)
                    let d = GGMLSearch.qx(16, 32, scales, Ls, weights: sw)
                    for j in 0..<16 { packScale(UInt8(bitPattern: Ls[j]), j, packed) }
                    Half.store(d, block, dOffset)
                } else {
                    var maxScale: Float = 0, amax: Float = 0
                    search(x, L, scales)
                    for j in 0..<16 {
                        if abs(scales[j]) > amax {
                            amax = abs(scales[j])
                            maxScale = scales[j]
                        }
                    }
                    if maxScale != 0 {
                        let iscale = -32 / maxScale
                        for j in 0..<16 {
                            let l = Int8(truncatingIfNeeded: GGMLSearch.nearestInt(iscale * scales[j]))
                            packScale(UInt8(max(-32, min(31, l)) + 32), j, packed)
                        }
                        Half.store(1 / iscale, block, dOffset)
                    } else {
                        Half.store(0, block, dOffset)
                    }
                }
                let d = Half.load(block, dOffset)
                let raw = UnsafeRawPointer(x)
                for j in 0..<16 {
                    let dl = d * Float(scale(packed, j))
                    if dl == 0 { continue }
                    // Element by element independent: eight at a time, the same division and rounding.
                    for i in stride(from: 16 * j, to: 16 * (j + 1), by: 8) {
                        let l = GGMLSearch.nearestInt8(raw.loadUnaligned(fromByteOffset: 4 * i, as: GGMLSearch.Lanes8.self) / dl,
                                                       clampedTo: -4, 3)
                        for k in 0..<8 { L[i + k] = Int8(l[k] + 4) }
                    }
                }
                pack(UnsafeRawPointer(L).assumingMemoryBound(to: UInt8.self), into: block)
            }
        }
    }

    /// `quantize_row_q3_K_ref`'s searches (`GGMLSearch.q3`), eight sub-blocks side by side
    /// (`GGMLSearch.q3x8`): each sub-block's scale to `scales`, its levels + 4 to L.
    private static func search(_ x: UnsafePointer<Float>, _ L: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>) {
        typealias Lanes = GGMLSearch.Lanes8
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 2 * 16) { scratch in
            let xT = scratch.baseAddress!, levels = xT + 16
            for half in 0..<2 {
                let x0 = x + 128 * half
                for l in 0..<16 {
                    var v = Lanes()
                    for j in 0..<8 { v[j] = x0[16 * j + l] }
                    xT[l] = v
                }
                let s = GGMLSearch.q3x8(16, 4, xT, levels)
                for j in 0..<8 { scales[8 * half + j] = s[j] }
                for l in 0..<16 {
                    let v = levels[l]
                    for j in 0..<8 { L[128 * half + 16 * j + l] = Int8(v[j]) }
                }
            }
        }
    }

    /// `quantize_row_q3_K_impl`'s searches (`GGMLSearch.qx` weighted by importance·√(σ² + x²), or
    /// by the importance alone when `sigma2` is nil), eight sub-blocks side by side
    /// (`GGMLSearch.qx8`): scales, each sub-block's total weight to `sw`, levels + 4 to L.
    private static func weightedSearch(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, sigma2: Float?,
                                       _ L: UnsafeMutablePointer<Int8>, _ scales: UnsafeMutablePointer<Float>,
                                       _ sw: UnsafeMutablePointer<Float>) {
        typealias Lanes = GGMLSearch.Lanes8
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 4 * 16) { scratch in
            let xT = scratch.baseAddress!, wT = xT + 16, levels = wT + 16, aux = levels + 16
            for half in 0..<2 {
                var sum = Lanes()
                for l in 0..<16 {
                    var v = Lanes(), w = Lanes()
                    for j in 0..<8 {
                        v[j] = x[128 * half + 16 * j + l]
                        w[j] = qw[128 * half + 16 * j + l]
                    }
                    xT[l] = v
                    if let sigma2 { w = w * (sigma2 + v * v).squareRoot() }
                    wT[l] = w
                    sum += w
                }
                let s = GGMLSearch.qx8(16, 4, xT, levels, aux, weights: UnsafePointer(wT))
                for j in 0..<8 {
                    scales[8 * half + j] = s[j]
                    sw[8 * half + j] = sum[j]
                }
                for l in 0..<16 {
                    let v = levels[l]
                    for j in 0..<8 { L[128 * half + 16 * j + l] = Int8(v[j]) }
                }
            }
        }
    }

    /// Packs sub-block j's 6-bit value l (scale + 32) as ggml does (bits beyond the sixth dropped).
    @inline(__always)
    private static func packScale(_ l: UInt8, _ j: Int, _ packed: UnsafeMutablePointer<UInt8>) {
        if j < 8 { packed[j] = l & 0xF } else { packed[j - 8] |= (l & 0xF) << 4 }
        packed[j % 4 + 8] |= (l >> 4) << UInt8(2 * (j / 4))
    }

    /// Sub-block j's scale, −32…31.
    @inline(__always)
    private static func scale(_ packed: UnsafePointer<UInt8>, _ j: Int) -> Int32 {
        let low = packed[j % 8] >> UInt8(j < 8 ? 0 : 4) & 0x0F
        let high = packed[8 + j % 4] >> UInt8(2 * (j / 4)) & 3
        return Int32(low | high << 4) - 32
    }

    /// Writes the 256 codes 0…7 (q + 4) as hmask bits and qs bit pairs.
    private static func pack(_ L: UnsafePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        let hmask = block.assumingMemoryBound(to: UInt8.self), qs = hmask + quantsOffset
        for j in 0..<32 { hmask[j] = 0 }
        for e in 0..<256 where L[e] > 3 { hmask[e % 32] |= 1 << UInt8(e / 32) }
        for h in 0..<2 {
            let l0 = L + 128 * h
            for l in 0..<32 {
                qs[32 * h + l] = (l0[l] & 3) | (l0[l + 32] & 3) << 2 | (l0[l + 64] & 3) << 4 | (l0[l + 96] & 3) << 6
            }
        }
    }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 110
            let hmask = block, qs = block + quantsOffset
            let packed = (block + scalesOffset).assumingMemoryBound(to: UInt8.self)
            let d = Half.load(block, dOffset)
            let y = out + b * 256
            for group in 0..<16 {
                let dl = d * Float(scale(packed, group))
                for e in group * 16..<(group + 1) * 16 {
                    let byte = qs.load(fromByteOffset: 32 * (e / 128) + e % 32, as: UInt8.self)
                    let q = Int8((byte >> UInt8(2 * (e % 128 / 32))) & 3)
                    let h = (hmask.load(fromByteOffset: e % 32, as: UInt8.self) >> UInt8(e / 32)) & 1
                    y[e] = dl * Float(q - (h == 0 ? 4 : 0))
                }
            }
        }
    }

    public static func subBlockSize(groupSize: Int) -> Int { 16 }
    public static let levels: ClosedRange<Int32> = -4...3
    public static let scaleRange: ClosedRange<Int32> = -32...31

    public static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters) {
        p.d = Half.load(block, dOffset)
        let packed = (block + scalesOffset).assumingMemoryBound(to: UInt8.self)
        for j in 0..<16 { p.scales[j] = scale(packed, j) }
    }

    public static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer) {
        Half.store(p.d, block, dOffset)
        let packed = (block + scalesOffset).assumingMemoryBound(to: UInt8.self)
        for i in 0..<12 { packed[i] = 0 }
        for j in 0..<16 { packScale(UInt8(p.scales[j] + 32), j, packed) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { L in
            for i in 0..<256 { L[i] = UInt8(levels[i] + 4) }
            pack(L.baseAddress!, into: block)
        }
    }
}

extension DType {
    public static let q3_K = DType(Q3_K.self)
}
