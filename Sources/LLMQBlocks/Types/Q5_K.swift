/// ggml's `block_q5_K`: 256 elements in 176 bytes (5.5 bits per weight) — Q4_K's header and
/// nibble layout plus a fifth bit per element; x = (d·sc)·q − dmin·m with q in 0…31.
///
/// Encoding without importance is `quantize_row_q5_K_ref` (Q4_K's with 31 levels and 16 inverse
/// scales around 31); with importance, the best per super-block of that, `quantize_row_q5_K_impl`
/// and the same weighted by the importance alone; `BestOf` then re-fits the winner's sub-block
/// scales and minimums.
public enum Q5_K: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | 2 | dmin, fp16 |
    /// | 4 | 12 | eight 6-bit scales and minimums (`Scales6`) |
    /// | 16 | 32 | qh: element 32·s + l has its fifth bit in bit s of qh[l] |
    /// | 48 | 128 | low nibbles, laid out as Q4_K's |
    static let highOffset = 16, quantsOffset = 48

    public static let name = "q5_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 13
    public static let ggufFileType: UInt32? = 17
    public static func blockBytes(groupSize: Int) -> Int { 176 }
    public static func halfParameters(groupSize: Int) -> [Int] { [0, 2] }

    static let settings = Scales6.Settings(nmax: 31, rmin: -0.5, steps: 15, clampWeightedScales: true, blockBytes: 176,
                                           pack: { pack($0, into: $1) })

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        Scales6.encodeBlocks(Self.self, settings, x, count: count, importance: importance, into: out)
    }

    private static func pack(_ L: UnsafePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        let qh = (block + highOffset).assumingMemoryBound(to: UInt8.self)
        let ql = (block + quantsOffset).assumingMemoryBound(to: UInt8.self)
        for j in 0..<32 { qh[j] = 0 }
        for pair in 0..<4 {
            let n = 64 * pair
            for j in 0..<32 {
                let l1 = L[n + j], l2 = L[n + j + 32]
                qh[j] |= (l1 >> 4 & 1) << UInt8(2 * pair) | (l2 >> 4 & 1) << UInt8(2 * pair + 1)
                ql[32 * pair + j] = (l1 & 15) | (l2 & 15) << 4
            }
        }
    }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 176
            let d = Half.load(block, 0), dmin = Half.load(block, 2)
            let qh = block + highOffset, qs = block + quantsOffset
            let y = out + b * 256
            for sub in 0..<8 {
                let (sc, m) = Scales6.scaleMin(block, sub)
                let d1 = d * Float(sc), m1 = dmin * Float(m)
                let shift = UInt8(4 * (sub % 2))
                for l in 0..<32 {
                    let low = (qs.load(fromByteOffset: 32 * (sub / 2) + l, as: UInt8.self) >> shift) & 0x0F
                    let high = (qh.load(fromByteOffset: l, as: UInt8.self) >> UInt8(sub)) & 1
                    y[32 * sub + l] = d1 * Float(low | high << 4) - m1
                }
            }
        }
    }

    public static func subBlockSize(groupSize: Int) -> Int { 32 }
    public static let levels: ClosedRange<Int32> = 0...31
    public static let scaleRange: ClosedRange<Int32> = 0...63
    public static let minRange: ClosedRange<Int32> = 0...63

    public static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters) {
        Scales6.parameters(of: block, into: &p)
    }

    public static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer) {
        Scales6.store(p, into: block)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { L in
            for i in 0..<256 { L[i] = UInt8(levels[i]) }
            pack(L.baseAddress!, into: block)
        }
    }
}

extension DType {
    public static let q5_K = DType(Q5_K.self)
}
