/// ggml Q6_K, 256 elements in 210 bytes: ql[128] (low nibbles), qh[64] (2-bit high parts), 16 int8
/// scales (one per 16 elements), fp16 d. In each half h of 128 elements, element r = 64k + l
/// (k = 0, 1) has nibble k of ql[64h + l]; element r = 32s + l has bits 2s…2s+1 of qh[32h + l].
/// x = d · scale · (q − 32), q in 0…63. Read only.
public enum Q6_K: BlockwiseType {
    public static let name = "q6_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 14
    public static let ggufFileType: UInt32? = 18
    public static func blockBytes(groupSize: Int) -> Int { 210 }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 210
            let ql = block, qh = block + 128, scales = block + 192
            let d = Half.load(block, 208)
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
}

extension DType {
    public static let q6_K = DType(Q6_K.self)
}
