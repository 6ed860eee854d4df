/// ggml's `block_iq4_xs`: 256 elements in 136 bytes (4.25 bits per weight) — IQ4_NL's grid in
/// eight sub-blocks of 32, each with a signed 6-bit scale under an fp16 d;
/// x = (d·(ls − 32))·value with ls in 0…63.
///
/// Encoding without importance is `quantize_iq4_xs` with no imatrix: IQ4_NL's search per
/// sub-block, then d = −(scale of largest magnitude)/32 and each sub-block's scale rounded to
/// 6 bits of it, the values re-rounded to the rounded scale (`IQ4Grid.encode`). With importance,
/// the best per super-block of that and the same weighted by importance·√(σ² + x²) and by the
/// importance alone; `BestOf` then re-fits the winner's sub-block scales.
public enum IQ4_XS: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | 2 | scales_h, uint16: bits 2i…2i+1 = the top two bits of ls of sub-block i |
    /// | 4 | 4 | scales_l: the low four bits of ls of sub-block i in nibble i % 2 of byte i / 2 |
    /// | 8 | 128 | per sub-block i, 16 bytes: byte j = index of element 32i + j \| index of 32i + 16 + j << 4 |
    static let quantsOffset = 8

    public static let name = "iq4_xs"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 23
    public static let ggufFileType: UInt32? = 30
    public static func blockBytes(groupSize: Int) -> Int { 136 }
    public static func halfParameters(groupSize: Int) -> [Int] { [0] }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        guard let importance else {
            for b in 0..<count { IQ4Grid.encode(x + 256 * b, 256, importance: nil, into: out + 136 * b) }
            return
        }
        BestOf.encode(Self.self, x, count: count, groupSize: 256, importance: importance, into: out,
                      [{ x, _, block in IQ4Grid.encode(x, 256, importance: nil, into: block) },
                       { x, w, block in IQ4Grid.encode(x, 256, importance: w, into: block) },
                       { x, w, block in IQ4Grid.encode(x, 256, importance: w, spread: false, into: block) }])
    }

    /// Sub-block i's ls − 32, −32…31.
    @inline(__always)
    static func scale(_ block: UnsafeRawPointer, _ i: Int) -> Int32 {
        let high = UInt16(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        let low = block.load(fromByteOffset: 4 + i / 2, as: UInt8.self) >> UInt8(4 * (i % 2)) & 0xF
        return (Int32(low) | Int32((high >> UInt16(2 * i)) & 3) << 4) - 32
    }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 136
            let d = Half.load(block, 0)
            for ib in 0..<8 {
                let dl = d * Float(scale(block, ib))
                let y = out + 256 * b + 32 * ib
                for j in 0..<16 {
                    let q = block.load(fromByteOffset: quantsOffset + 16 * ib + j, as: UInt8.self)
                    y[j] = dl * IQ4Grid.value(Int(q & 0xF))
                    y[j + 16] = dl * IQ4Grid.value(Int(q >> 4))
                }
            }
        }
    }

    public static func subBlockSize(groupSize: Int) -> Int { 32 }
    public static let levels: ClosedRange<Int32> = 0...15
    public static let scaleRange: ClosedRange<Int32> = -32...31
    public static func value(ofLevel q: Int32) -> Float { IQ4Grid.value(Int(q)) }
    public static func nearestLevel(_ t: Float) -> Int32 { Int32(IQ4Grid.nearest(t)) }

    public static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters) {
        p.d = Half.load(block, 0)
        for i in 0..<8 { p.scales[i] = scale(block, i) }
    }

    public static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer) {
        Half.store(p.d, block, 0)
        var high: UInt16 = 0
        for i in 0..<8 {
            let ls = UInt8(p.scales[i] + 32)
            high |= UInt16(ls >> 4) << UInt16(2 * i)
            let low = block.load(fromByteOffset: 4 + i / 2, as: UInt8.self)
            block.storeBytes(of: i % 2 == 0 ? ls & 0xF : low | (ls & 0xF) << 4, toByteOffset: 4 + i / 2, as: UInt8.self)
        }
        block.storeBytes(of: high.littleEndian, toByteOffset: 2, as: UInt16.self)
        for i in 0..<8 {
            for j in 0..<16 {
                let code = UInt8(levels[32 * i + j] | levels[32 * i + 16 + j] << 4)
                block.storeBytes(of: code, toByteOffset: quantsOffset + 16 * i + j, as: UInt8.self)
            }
        }
    }
}

extension DType {
    public static let iq4_xs = DType(IQ4_XS.self)
}
