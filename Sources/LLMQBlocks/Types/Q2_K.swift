/// ggml Q2_K, 256 elements in 84 bytes: 16 scale bytes (low nibble scale, high nibble minimum,
/// one per 16 elements), 64 bytes of 2-bit values, fp16 d, fp16 dmin.
/// Element e (h = e / 128, s = e % 128 / 32, l = e % 32) is bits 2s…2s+1 of qs[32h + l];
/// x = d · (sc & 15) · q − dmin · (sc >> 4) with sc = scales[e / 16]. Read only.
public enum Q2_K: BlockwiseType {
    public static let name = "q2_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 10
    public static let ggufFileType: UInt32? = 10
    public static func blockBytes(groupSize: Int) -> Int { 84 }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 84
            let scales = block, qs = block + 16
            let d = Half.load(block, 80)
            let dmin = Half.load(block, 82)
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
}

extension DType {
    public static let q2_K = DType(Q2_K.self)
}
