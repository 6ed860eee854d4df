/// IEEE binary32, little-endian: the reference precision every other type is measured against.
public enum F32: EncodableType {
    public static let name = "f32"
    public static let blockSize = 1
    public static let ggmlType: UInt32? = 0
    public static let ggufFileType: UInt32? = 0
    public static var needsFiniteValues: Bool { false }
    public static func blockBytes(groupSize: Int) -> Int { 4 }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        out.copyMemory(from: x, byteCount: 4 * count)
    }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize: Int, into y: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(y).copyMemory(from: src, byteCount: 4 * count)
    }
}

extension DType {
    public static let f32 = DType(F32.self)
}
