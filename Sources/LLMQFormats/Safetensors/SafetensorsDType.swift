import LLMQCore

/// The safetensors dtype names llmq maps to its own `DType`s (`formats/safetensors.md`).
enum SafetensorsDType {
    /// Readable and writable, in the reference implementation's alignment order: its writer puts
    /// tensors of later (wider) types first, so every tensor stays aligned to its element size.
    static let supported: [(name: String, dtype: DType)] = [
        ("U8", .u8), ("I8", .i8), ("I16", .i16), ("F16", .f16), ("BF16", .bf16),
        ("I32", .i32), ("F32", .f32), ("F64", .f64), ("I64", .i64),
    ]

    /// Valid in the format but not held by any llmq dtype (booleans, unsigned wider than a byte,
    /// the micro-floats, complex numbers).
    static let unsupported: Set<String> = [
        "BOOL", "U16", "U32", "U64", "C64", "F4", "F6_E2M3", "F6_E3M2",
        "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ",
    ]

    static func dtype(named name: String) -> DType? {
        supported.first { $0.name == name }?.dtype
    }

    static func name(of dtype: DType) -> String? {
        supported.first { $0.dtype == dtype }?.name
    }

    /// Position in the reference writer's ordering (higher is written first).
    static func alignmentRank(_ dtype: DType) -> Int {
        supported.firstIndex { $0.dtype == dtype } ?? -1
    }

    static var supportedList: String { supported.map(\.name).joined(separator: ", ") }
}
