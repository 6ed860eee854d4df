/// ggml's `block_q4_K`: 256 elements in 144 bytes (4.5 bits per weight) — eight sub-blocks of 32,
/// each with a 6-bit scale and a 6-bit minimum under the fp16 super-block d and dmin;
/// x = (d·sc)·q − dmin·m with q in 0…15.
///
/// Encoding without importance is `quantize_row_q4_K_ref`: each sub-block's scale and minimum by
/// `GGMLSearch.qkx` (21 inverse scales, weights mean|x| + |x|), the largest of each mapped to 63,
/// the levels re-rounded to the stored parameters. With importance, the best per super-block of
/// that, `quantize_row_q4_K_impl` and the same weighted by the importance alone; `BestOf` then
/// re-fits the winner's sub-block scales and minimums.
public enum Q4_K: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | 2 | dmin, fp16 |
    /// | 4 | 12 | eight 6-bit scales and minimums (`Scales6`) |
    /// | 16 | 128 | 32 bytes per 64 elements: low nibbles the first 32, high nibbles the next 32 |
    static let quantsOffset = 16

    public static let name = "q4_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 12
    public static let ggufFileType: UInt32? = 15
    public static func blockBytes(groupSize: Int) -> Int { 144 }
    public static func halfParameters(groupSize: Int) -> [Int] { [0, 2] }

    static let settings = Scales6.Settings(nmax: 15, rmin: -1, steps: 20, clampWeightedScales: false, blockBytes: 144,
                                           pack: { pack($0, into: $1) })

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        Scales6.encodeBlocks(Self.self, settings, x, count: count, importance: importance, into: out)
    }

    private static func pack(_ L: UnsafePointer<UInt8>, into block: UnsafeMutableRawPointer) {
        let q = (block + quantsOffset).assumingMemoryBound(to: UInt8.self)
        for j in 0..<4 {
            for l in 0..<32 { q[32 * j + l] = L[64 * j + l] | L[64 * j + 32 + l] << 4 }
        }
    }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 144
            let d = Half.load(block, 0), dmin = Half.load(block, 2)
            let qs = block + quantsOffset
            let y = out + b * 256
            for sub in 0..<8 {
                let (sc, m) = Scales6.scaleMin(block, sub)
                let d1 = d * Float(sc), m1 = dmin * Float(m)
                let shift = UInt8(4 * (sub % 2))
                for l in 0..<32 {
                    let q = (qs.load(fromByteOffset: 32 * (sub / 2) + l, as: UInt8.self) >> shift) & 0x0F
                    y[32 * sub + l] = d1 * Float(q) - m1
                }
            }
        }
    }

    public static func subBlockSize(groupSize: Int) -> Int { 32 }
    public static let levels: ClosedRange<Int32> = 0...15
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
    public static let q4_K = DType(Q4_K.self)
}
