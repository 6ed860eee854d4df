import LLMQCore

/// Constants of the GGUF container (`formats/gguf.md`).
public enum GGUF {
    /// "GGUF" read as a little-endian uint32.
    public static let magic: UInt32 = 0x4655_4747
    /// llmq writes version 3; version 2 has the same layout and is read too.
    public static let version: UInt32 = 3
    public static let readableVersions: ClosedRange<UInt32> = 2...3
    /// Alignment of the data section and of every tensor when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// ggml tensors have at most four dimensions.
    public static let maxDimensions = 4
    /// Arrays of arrays deeper than this are refused (they only serve to exhaust the stack).
    public static let maxArrayNesting = 8
    /// Bytes of magic, version, tensor count and key/value count.
    public static let headerBytes = 24

    public static func isGGUF(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes.loadUnaligned(as: UInt32.self) == magic
    }
}

/// Metadata value types; the raw value is the uint32 tag in the file.
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

    /// Bytes of a scalar value; nil for strings and arrays.
    public var scalarSize: Int? {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        case .string, .array: nil
        }
    }

    /// The fewest bytes one value can take: a string is at least its 8-byte length, an array
    /// its element type and count. Bounds element counts by the bytes left before allocating.
    public var minimumSize: Int { scalarSize ?? (self == .string ? 8 : 12) }

    public var description: String {
        switch self {
        case .uint8: "u8"
        case .int8: "i8"
        case .uint16: "u16"
        case .int16: "i16"
        case .uint32: "u32"
        case .int32: "i32"
        case .float32: "f32"
        case .bool: "bool"
        case .string: "string"
        case .array: "array"
        case .uint64: "u64"
        case .int64: "i64"
        case .float64: "f64"
        }
    }
}

/// ggml tensor type ids (`enum ggml_type`): the ones llmq reads come from `BlockTypes`.
public enum GGMLType {
    /// ggml types that exist but that llmq cannot decode, named for error messages.
    static let unreadable: [UInt32: String] = [
        4: "Q4_2 (removed from ggml)", 5: "Q4_3 (removed from ggml)", 9: "Q8_1", 16: "IQ2_XXS", 17: "IQ2_XS",
        18: "IQ3_XXS", 19: "IQ1_S", 21: "IQ3_S", 22: "IQ2_S", 29: "IQ1_M",
        31: "Q4_0_4_4 (removed from ggml)", 32: "Q4_0_4_8 (removed from ggml)", 33: "Q4_0_8_8 (removed from ggml)",
        34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0",
    ]

    /// The dtype of a ggml type id, or nil when llmq does not know it.
    public static func dtype(id: UInt32) -> DType? { BlockTypes.dtype(ggmlType: id) }

    /// The ggml type id that stores `dtype` byte for byte, or nil (non-ggml group sizes,
    /// llama2.c groups, u8).
    public static func id(for dtype: DType) -> UInt32? { dtype.ggmlType }

    public static func describe(id: UInt32) -> String {
        if let dtype = dtype(id: id) { return "\(id) (\(dtype.name))" }
        if let name = unreadable[id] { return "\(id) (\(name))" }
        return "\(id)"
    }
}
