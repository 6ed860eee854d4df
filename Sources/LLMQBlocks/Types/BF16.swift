/// bfloat16: the top 16 bits of an fp32, little-endian — fp32's range at fp16's size.
public enum BF16: EncodableType {
    public static let name = "bf16"
    public static let blockSize = 1
    public static let ggmlType: UInt32? = 30
    public static let ggufFileType: UInt32? = 32
    public static var needsFiniteValues: Bool { false }
    public static func blockBytes(groupSize: Int) -> Int { 2 }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        for i in 0..<count { out.storeBytes(of: bits(x[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
    }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
    }

    /// fp32 → bf16 as ggml's `ggml_compute_fp32_to_bf16` and PyTorch's `.to(torch.bfloat16)`: round
    /// to nearest even, NaNs kept quiet.
    @inline(__always)
    public static func bits(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: u >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }
}

extension DType {
    public static let bf16 = DType(BF16.self)
}
