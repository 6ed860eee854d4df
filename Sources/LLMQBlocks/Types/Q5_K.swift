/// ggml Q5_K, 256 elements in 176 bytes: fp16 d, fp16 dmin, 12 packed scale/minimum bytes (as Q4_K),
/// qh[32] (fifth bits: element 32·s + l has bit s of qh[l]), 128 bytes of nibbles laid out as Q4_K.
/// x = d · sc · q − dmin · m, q in 0…31. Read only.
public enum Q5_K: BlockwiseType {
    public static let name = "q5_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 13
    public static let ggufFileType: UInt32? = 17
    public static func blockBytes(groupSize: Int) -> Int { 176 }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 176
            let d = Half.load(block, 0)
            let dmin = Half.load(block, 2)
            let qh = block + 16, qs = block + 48
            let y = out + b * 256
            for sub in 0..<8 {
                let (sc, m) = Q4_K.scaleMin(block + 4, sub)
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
}

extension DType {
    public static let q5_K = DType(Q5_K.self)
}
