/// Plain element types that appear in safetensors and GGUF files but never as weights llmq writes:
/// read so that `inspect` and conversions account for every tensor, expanded to fp32 on use.
public protocol PlainNumberType: BlockwiseType {
    associatedtype Element: BinaryInteger & Sendable
}

extension PlainNumberType {
    public static var blockSize: Int { 1 }
    public static func blockBytes(groupSize: Int) -> Int { MemoryLayout<Element>.size }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize: Int, into y: UnsafeMutablePointer<Float>) {
        let size = MemoryLayout<Element>.size
        for i in 0..<count { y[i] = Float(src.loadUnaligned(fromByteOffset: size * i, as: Element.self)) }
    }
}

public enum I8: PlainNumberType {
    public typealias Element = Int8
    public static let name = "i8"
    public static let ggmlType: UInt32? = 24
}

public enum I16: PlainNumberType {
    public typealias Element = Int16
    public static let name = "i16"
    public static let ggmlType: UInt32? = 25
}

public enum I32: PlainNumberType {
    public typealias Element = Int32
    public static let name = "i32"
    public static let ggmlType: UInt32? = 26
}

public enum I64: PlainNumberType {
    public typealias Element = Int64
    public static let name = "i64"
    public static let ggmlType: UInt32? = 27
}

/// Bytes (safetensors' U8); ggml has no unsigned type.
public enum U8: PlainNumberType {
    public typealias Element = UInt8
    public static let name = "u8"
    public static let containerCode: UInt32 = 257
}

public enum F64: BlockwiseType {
    public static let name = "f64"
    public static let blockSize = 1
    public static let ggmlType: UInt32? = 28
    public static func blockBytes(groupSize: Int) -> Int { 8 }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize: Int, into y: UnsafeMutablePointer<Float>) {
        for i in 0..<count { y[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
    }
}

extension DType {
    public static let i8 = DType(I8.self), i16 = DType(I16.self), i32 = DType(I32.self), i64 = DType(I64.self)
    public static let u8 = DType(U8.self), f64 = DType(F64.self)
}
