/// ggml Q8_K, 256 elements in 292 bytes: fp32 d, 256 int8 quants, sixteen int16 sums of 16 quants
/// each. ggml's activation type for the K-quants' dot products; read (x = d · q) so that any file
/// holding it opens, never written.
public enum Q8_K: BlockwiseType {
    public static let name = "q8_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 15
    public static func blockBytes(groupSize: Int) -> Int { 292 }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 292
            let d = Float(bitPattern: UInt32(littleEndian: block.loadUnaligned(as: UInt32.self)))
            for i in 0..<256 { out[256 * b + i] = d * Float(block.load(fromByteOffset: 4 + i, as: Int8.self)) }
        }
    }
}

extension DType {
    public static let q8_K = DType(Q8_K.self)
}
