/// IEEE binary16, little-endian, rounded to nearest even from fp32 (the hardware conversion, as
/// ggml's GGML_FP32_TO_FP16 and numpy do); values beyond ±65504 become infinities.
public enum F16: EncodableType {
    public static let name = "f16"
    public static let blockSize = 1
    public static let ggmlType: UInt32? = 1
    public static let ggufFileType: UInt32? = 1
    public static var needsFiniteValues: Bool { false }
    public static func blockBytes(groupSize: Int) -> Int { 2 }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        for i in 0..<count { out.storeBytes(of: Float16(x[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
    }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
    }
}

extension DType {
    public static let f16 = DType(F16.self)
}
