/// The registry: every block type llmq reads, in ggml's id order, then llmq's own. Adding a type is
/// its file in `Types/`, one entry here, its kernel in LLMQEngine (or none: the engine expands
/// types without a kernel to fp32 at load) and its section in `formats/blocks.md`.
public enum BlockTypes {
    public static let all: [any BlockType.Type] = [
        F32.self, F16.self, Q4_0.self, Q4_1.self, Q5_0.self, Q5_1.self, Q8_0.self,
        Q2_K.self, Q3_K.self, Q4_K.self, Q5_K.self, Q6_K.self, Q8_K.self,
        IQ4_NL.self, IQ4_XS.self, I8.self, I16.self, I32.self, I64.self, F64.self, BF16.self,
        Q8_L2C.self, U8.self,
    ]

    /// The types llmq writes.
    public static var encodable: [any EncodableType.Type] { all.compactMap { $0 as? any EncodableType.Type } }

    /// The type named `name`, in any case.
    public static func named(_ name: String) -> (any BlockType.Type)? {
        let lower = name.lowercased()
        return all.first { $0.name.lowercased() == lower }
    }

    /// The dtype of a ggml type id, or nil when llmq does not know it.
    public static func dtype(ggmlType id: UInt32) -> DType? {
        all.first { $0.ggmlType == id }.map { DType($0) }
    }

    /// The dtype of a container code, or nil.
    public static func dtype(containerCode code: UInt32) -> DType? {
        all.first { $0.containerCode == code }.map { DType($0) }
    }
}

extension DType {
    /// The block type's reference encoder, when llmq writes the type at this group size.
    public var encoder: (any EncodableType.Type)? {
        guard isValidBlockSize else { return nil }
        return type as? any EncodableType.Type
    }

    /// ggml's type id when these bytes are ggml's (the type's own block size), else nil.
    public var ggmlType: UInt32? { blockSize == type.blockSize ? type.ggmlType : nil }
}
