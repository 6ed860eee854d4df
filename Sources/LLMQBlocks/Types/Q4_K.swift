/// ggml Q4_K, 256 elements in 144 bytes: fp16 d, fp16 dmin, 12 bytes packing eight 6-bit scales and
/// eight 6-bit minimums (one pair per 32 elements), 128 bytes of nibbles. Each 32 bytes hold 64
/// elements: low nibbles the first 32, high nibbles the next 32.
/// x = d · sc · q − dmin · m. Read only.
public enum Q4_K: BlockwiseType {
    public static let name = "q4_K"
    public static let blockSize = 256
    public static let ggmlType: UInt32? = 12
    public static let ggufFileType: UInt32? = 15
    public static func blockBytes(groupSize: Int) -> Int { 144 }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 144
            let d = Half.load(block, 0)
            let dmin = Half.load(block, 2)
            let qs = block + 16
            let y = out + b * 256
            for sub in 0..<8 {
                let (sc, m) = Self.scaleMin(block + 4, sub)
                let d1 = d * Float(sc), m1 = dmin * Float(m)
                let shift = UInt8(4 * (sub % 2))
                for l in 0..<32 {
                    let q = (qs.load(fromByteOffset: 32 * (sub / 2) + l, as: UInt8.self) >> shift) & 0x0F
                    y[32 * sub + l] = d1 * Float(q) - m1
                }
            }
        }
    }

    /// Scale and minimum of sub-block `j` (0…7) from the 12 packed bytes: for j < 4 the low six bits
    /// of bytes j and j + 4; otherwise a nibble of byte j + 4 plus the top two bits of bytes j − 4 and j.
    @inline(__always)
    static func scaleMin(_ packed: UnsafeRawPointer, _ j: Int) -> (UInt8, UInt8) {
        let q = { packed.load(fromByteOffset: $0, as: UInt8.self) }
        if j < 4 { return (q(j) & 63, q(j + 4) & 63) }
        return ((q(j + 4) & 0x0F) | (q(j - 4) >> 6) << 4, (q(j + 4) >> 4) | (q(j) >> 6) << 4)
    }
}

extension DType {
    public static let q4_K = DType(Q4_K.self)
}
