/// ggml's `block_q6_K`: 256 elements in 210 bytes (6.5625 bits per weight) — sixteen sub-blocks of
/// 16 with an int8 scale each under an fp16 d; x = (d·scale)·q with q in −32…31.
///
/// Encoding without importance is `quantize_row_q6_K_ref`: each sub-block's scale by
/// `GGMLSearch.qx` (weights x²), the one of largest magnitude mapped to −128, the levels re-rounded
/// to the stored scales. With importance, the better per super-block of that and
/// `quantize_row_q6_K_impl` (the same search weighted by the importance); `BestOf` then re-fits
/// the winner's sub-block scales.
public enum Q6_K: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 128 | ql: in half h, element 64k + l has nibble k of ql[64h + l] |
    /// | 128 | 64 | qh: in half h, element 32s + l has bits 2s…2s+1 of qh[32h + l] |
    /// | 192 | 16 | scales, int8, one per 16 elements |
    /// | 208 | 2 | d, fp16 |
    static let highOffset = 128, scalesOffset = 192, dOffset = 208

    public static let name = "q6_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 14
    public static let ggufFileType: UInt32? = 18
    public static func blockBytes(groupSize: Int) -> Int { 210 }
    public static func halfParameters(groupSize: Int) -> [Int] { [dOffset] }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        guard let importance else {
            for b in 0..<count { encode(x + 256 * b, importance: nil, into: out + 210 * b) }
            return
        }
        BestOf.encode(Self.self, x, count: count, groupSize: 256, importance: importance, into: out,
                      [{ x, _, block in encode(x, importance: nil, into: block) }, { x, w, block in encode(x, importance: w, into: block) }])
    }

    static func encode(_ x: UnsafePointer<Float>, importance qw: UnsafePointer<Float>?, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { levels in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { subScales in
                let L = levels.baseAddress!, scales = subScales.baseAddress!
                var maxScale: Float = 0, maxAbsScale: Float = 0
                search(x, qw, L, scales)
                for ib in 0..<16 {
                    if abs(scales[ib]) > maxAbsScale {
                        maxAbsScale = abs(scales[ib])
                        maxScale = scales[ib]
                    }
                }
                if maxAbsScale < GGMLSearch.groupMaxEps {
                    block.initializeMemory(as: UInt8.self, repeating: 0, count: 210)
                    return
                }
                let iscale = -128 / maxScale
                Half.store(1 / iscale, block, dOffset)
                let stored = (block + scalesOffset).assumingMemoryBound(to: Int8.self)
                for ib in 0..<16 { stored[ib] = Int8(truncatingIfNeeded: min(127, GGMLSearch.nearestInt(iscale * scales[ib]))) }
                let d = Half.load(block, dOffset)
                let raw = UnsafeRawPointer(x)
                for j in 0..<16 {
                    let dl = d * Float(stored[j])
                    if dl == 0 { continue }
                    // Element by element independent: eight at a time, the same division and rounding.
                    for i in stride(from: 16 * j, to: 16 * (j + 1), by: 8) {
                        let l = GGMLSearch.nearestInt8(raw.loadUnaligned(fromByteOffset: 4 * i, as: GGMLSearch.Lanes8.self) / dl,
                                                       clampedTo: -32, 31)
                        for k in 0..<8 { L[i + k] = Int8(l[k] + 32) }
                    }
                }
                pack(UnsafeRawPointer(L).assumingMemoryBound(to: UInt8.self), into: block)
            }
        }
    }

    /// `GGMLSearch.qx` (weighted by the importance, else x²) on eight sub-blocks at a time, one per
    /// lane (`GGMLSearch.qx8`): each sub-block's scale to `scales`, its levels + 32 to L.
    private static func search(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>?, _ L: UnsafeMutablePointer<Int8>,
                               _ scales: UnsafeMutablePointer<Float>) {
        typealias Lanes = GGMLSearch.Lanes8
        withUnsafeTemporaryAllocation(of: Lanes.self, capacity: 4 * 16) { scratch in
            let xT = scratch.baseAddress!, wT = xT + 16, levels = wT + 16, aux = levels + 16
            for half in 0..<2 {
                for l in 0..<16 {
                    var v = Lanes(), w = Lanes()
                    for j in 0..<8 {
                        v[j] = x[128 * half + 16 * j + l]
                        if let qw { w[j] = qw[128 * half + 16 * j + l] }
                    }
                    xT[l] = v
                    wT[l] = w
                }
                let s = GGMLSearch.qx8(16, 32, xT, levels, aux, weights: qw == nil ? nil : UnsafePointer(wT))
                for j in 0..<8 { scales[8 * half + j] = s[j] }
                for l in 0..<16 {
                    let v = levels[l]
                    for j in 0..<8 { L[128 * half + 16 * j + l] = Int8(v[j]) }
                }
            }
        }
    }

    /// Writes the 256 codes 0…63 as ql nibbles and qh bit pairs.
    private static func pack(_ L: UnsafePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        let ql = block.assumingMemoryBound(to: UInt8.self), qh = ql + highOffset
        for h in 0..<2 {
            let l0 = L + 128 * h, low = ql + 64 * h, high = qh + 32 * h
            for l in 0..<32 {
                low[l] = (l0[l] & 0xF) | (l0[l + 64] & 0xF) << 4
                low[l + 32] = (l0[l + 32] & 0xF) | (l0[l + 96] & 0xF) << 4
                high[l] = l0[l] >> 4 | (l0[l + 32] >> 4) << 2 | (l0[l + 64] >> 4) << 4 | (l0[l + 96] >> 4) << 6
            }
        }
    }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 210
            let ql = block, qh = block + highOffset, scales = block + scalesOffset
            let d = Half.load(block, dOffset)
            let y = out + b * 256
            for group in 0..<16 {
                let dl = d * Float(scales.load(fromByteOffset: group, as: Int8.self))
                for e in group * 16..<(group + 1) * 16 {
                    let h = e / 128, r = e % 128
                    let low = (ql.load(fromByteOffset: 64 * h + r % 64, as: UInt8.self) >> UInt8(4 * (r / 64))) & 0x0F
                    let high = (qh.load(fromByteOffset: 32 * h + r % 32, as: UInt8.self) >> UInt8(2 * (r / 32))) & 3
                    y[e] = dl * Float(Int8(bitPattern: low | high << 4) - 32)
                }
            }
        }
    }

    public static func subBlockSize(groupSize: Int) -> Int { 16 }
    public static let levels: ClosedRange<Int32> = -32...31
    public static let scaleRange: ClosedRange<Int32> = -128...127

    public static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters) {
        p.d = Half.load(block, dOffset)
        for j in 0..<16 { p.scales[j] = Int32(block.load(fromByteOffset: scalesOffset + j, as: Int8.self)) }
    }

    public static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer) {
        Half.store(p.d, block, dOffset)
        for j in 0..<16 { block.storeBytes(of: Int8(p.scales[j]), toByteOffset: scalesOffset + j, as: Int8.self) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { L in
            for i in 0..<256 { L[i] = UInt8(levels[i] + 32) }
            pack(L.baseAddress!, into: block)
        }
    }
}

extension DType {
    public static let q6_K = DType(Q6_K.self)
}
