/// ggml's `block_iq4_nl`: 32 elements in 18 bytes (4.5 bits per weight) — an fp16 d and 4-bit
/// indices into the non-uniform grid `IQ4Grid.values` (−127…113, denser near zero); x = d·value.
///
/// Encoding without importance is `quantize_iq4_nl` with no imatrix (what llama-quantize runs):
/// the scale, among 15 around max/−127 refitted by least squares, with the least Σ x²·(x − x̂)²
/// (`IQ4Grid.encode`). With importance, the best per block of that and the same search weighted
/// by importance·√(σ² + x²) (σ² = 2·mean x² of the block) and by the importance alone, its
/// indices then re-rounded to the stored d (`BestOf`).
public enum IQ4_NL: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | 16 | byte j = index of element j (low nibble) \| index of element j + 16 (high nibble) |
    public static let name = "iq4_nl"
    public static let blockSize = 32
    public static let ggmlType: UInt32? = 20
    public static let ggufFileType: UInt32? = 25
    public static func blockBytes(groupSize: Int) -> Int { 18 }
    public static func halfParameters(groupSize: Int) -> [Int] { [0] }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        guard let importance else {
            for b in 0..<count { IQ4Grid.encode(x + 32 * b, 32, importance: nil, into: out + 18 * b) }
            return
        }
        BestOf.encode(Self.self, x, count: count, groupSize: 32, importance: importance, into: out,
                      [{ x, _, block in IQ4Grid.encode(x, 32, importance: nil, into: block) },
                       { x, w, block in IQ4Grid.encode(x, 32, importance: w, into: block) },
                       { x, w, block in IQ4Grid.encode(x, 32, importance: w, spread: false, into: block) }])
    }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 18, y = out + b * 32
            let d = Half.load(block, 0)
            for j in 0..<16 {
                let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                y[j] = d * IQ4Grid.value(Int(q & 0xF))
                y[j + 16] = d * IQ4Grid.value(Int(q >> 4))
            }
        }
    }

    public static func subBlockSize(groupSize: Int) -> Int { 32 }
    public static let levels: ClosedRange<Int32> = 0...15
    public static let scaleRange: ClosedRange<Int32> = 1...1
    public static func value(ofLevel q: Int32) -> Float { IQ4Grid.value(Int(q)) }
    public static func nearestLevel(_ t: Float) -> Int32 { Int32(IQ4Grid.nearest(t)) }

    public static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters) {
        p.d = Half.load(block, 0)
        p.scales[0] = 1
    }

    public static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer) {
        Half.store(p.d, block, 0)
        for j in 0..<16 { block.storeBytes(of: UInt8(levels[j] | levels[j + 16] << 4), toByteOffset: 2 + j, as: UInt8.self) }
    }
}

extension DType {
    public static let iq4_nl = DType(IQ4_NL.self)
}
