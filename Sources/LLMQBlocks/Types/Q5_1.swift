/// ggml Q5_1, 32 elements in 24 bytes: fp16 scale d, fp16 minimum m, uint32 qh (fifth bits),
/// 16 bytes of low nibbles (byte j: element j low, j + 16 high). x = d · q + m, q in 0…31. Read only.
public enum Q5_1: BlockwiseType {
    public static let name = "q5_1"
    public static let blockSize = 32
    public static let ggmlType: UInt32? = 7
    public static let ggufFileType: UInt32? = 9
    public static func blockBytes(groupSize: Int) -> Int { 24 }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 24
            let d = Half.load(block, 0)
            let m = Half.load(block, 2)
            let qh = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            let y = out + b * 32
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 8 + j, as: UInt8.self)
                let lo = UInt32(byte & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let hi = UInt32(byte >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float(lo) + m
                y[j + 16] = d * Float(hi) + m
            }
        }
    }
}

extension DType {
    public static let q5_1 = DType(Q5_1.self)
}
