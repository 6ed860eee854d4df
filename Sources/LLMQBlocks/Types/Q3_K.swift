/// ggml Q3_K, 256 elements in 110 bytes: hmask[32] (third bits), qs[64] (2-bit values, laid out as
/// in Q2_K), 12 bytes packing sixteen 6-bit scales, fp16 d.
/// Element e has low bits as Q2_K, high bit (hmask[e % 32] >> (e / 32)) & 1; q = low − (high ? 0 : 4);
/// x = d · (scale[e / 16] − 32) · q. Scale i takes its low nibble from byte i % 8 (high half when
/// i ≥ 8) and its top two bits from byte 8 + i % 4, bits 2·(i / 4). Read only.
public enum Q3_K: BlockwiseType {
    public static let name = "q3_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 11
    public static let ggufFileType: UInt32? = 12
    public static func blockBytes(groupSize: Int) -> Int { 110 }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 110
            let hmask = block, qs = block + 32, packed = block + 96
            let d = Half.load(block, 108)
            let y = out + b * 256
            for group in 0..<16 {
                let low = packed.load(fromByteOffset: group % 8, as: UInt8.self) >> UInt8(group < 8 ? 0 : 4) & 0x0F
                let high = packed.load(fromByteOffset: 8 + group % 4, as: UInt8.self) >> UInt8(2 * (group / 4)) & 3
                let dl = d * Float(Int8(bitPattern: low | high << 4) - 32)
                for e in group * 16..<(group + 1) * 16 {
                    let byte = qs.load(fromByteOffset: 32 * (e / 128) + e % 32, as: UInt8.self)
                    let q = Int8((byte >> UInt8(2 * (e % 128 / 32))) & 3)
                    let h = (hmask.load(fromByteOffset: e % 32, as: UInt8.self) >> UInt8(e / 32)) & 1
                    y[e] = dl * Float(q - (h == 0 ? 4 : 0))
                }
            }
        }
    }
}

extension DType {
    public static let q3_K = DType(Q3_K.self)
}
