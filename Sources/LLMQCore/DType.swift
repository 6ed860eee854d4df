/// How a tensor's elements are stored. Plain types hold one element per `byteWidth`; block types
/// hold `blockSize` elements in `blockBytes` (scales included), always along the innermost axis.
public struct DType: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case f32, f16, bf16, f64, i8, u8, i16, i32, i64
        /// ggml block types: scale (and min) in fp16, then packed integers.
        case q8_0, q4_0, q4_1, q5_0, q5_1
        /// ggml k-quants: 256-element super-blocks (read and dequantized; not written).
        case q2_K, q3_K, q4_K, q5_K, q6_K, q8_K
        /// llama2.c's version-2 export: all int8 values of the tensor, then one fp32 scale per group.
        case q8_l2c
    }

    public let kind: Kind
    /// Elements per block; 1 for plain types.
    public let blockSize: Int

    public init(_ kind: Kind, blockSize: Int? = nil) {
        self.kind = kind
        self.blockSize = blockSize ?? kind.defaultBlockSize
    }

    public static let f32 = DType(.f32), f16 = DType(.f16), bf16 = DType(.bf16)
    public static let i8 = DType(.i8), u8 = DType(.u8), i32 = DType(.i32)
    public static let q8_0 = DType(.q8_0), q4_0 = DType(.q4_0), q4_1 = DType(.q4_1), q5_0 = DType(.q5_0)

    public var isBlockQuantized: Bool { kind.defaultBlockSize > 1 }

    /// Bytes of one block (for plain types: of one element).
    public var blockBytes: Int {
        switch kind {
        case .f32, .i32: 4
        case .f16, .bf16, .i16: 2
        case .f64, .i64: 8
        case .i8, .u8: 1
        case .q8_0: 2 + blockSize
        case .q4_0: 2 + blockSize / 2
        case .q4_1: 4 + blockSize / 2
        case .q5_0: 2 + blockSize / 8 + blockSize / 2
        case .q5_1: 4 + 4 + blockSize / 2
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        case .q8_K: 292
        case .q8_l2c: blockSize + 4
        }
    }

    public var bitsPerWeight: Double { Double(blockBytes * 8) / Double(blockSize) }

    /// Group sizes the block types accept; ggml's own layout is the default (32 or 256).
    public var isValidBlockSize: Bool {
        switch kind {
        case .q8_0, .q4_0, .q4_1, .q5_0: [32, 64, 128, 256].contains(blockSize)
        case .q8_l2c: blockSize > 0
        default: blockSize == kind.defaultBlockSize
        }
    }

    /// Bytes needed for `shape` (outermost first), or nil when the innermost axis is not a whole
    /// number of blocks or the size overflows. llama2.c's q8 groups run across rows, so only the
    /// element count must divide there.
    public func byteCount(shape: [Int]) -> Int? {
        var elements = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (r, o) = elements.multipliedReportingOverflow(by: d)
            if o { return nil }
            elements = r
        }
        if kind == .q8_l2c {
            guard elements % blockSize == 0 else { return nil }
        } else if blockSize > 1 {
            guard let inner = shape.last, inner % blockSize == 0 else { return nil }
        }
        let (bytes, o) = (elements / blockSize).multipliedReportingOverflow(by: blockBytes)
        return o ? nil : bytes
    }

    /// `q4_0`, or `q4_0_g64` for a non-default group size.
    public var description: String {
        blockSize == kind.defaultBlockSize ? kind.rawValue : "\(kind.rawValue)_g\(blockSize)"
    }

    public init?(name: String) {
        let lower = name.lowercased()
        if let kind = Kind.allCases.first(where: { $0.rawValue.lowercased() == lower }) {
            self.init(kind)
            return
        }
        // "<kind>_g<group>"
        let parts = lower.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count >= 2, let last = parts.last, last.first == "g", let group = Int(last.dropFirst()),
              let kind = Kind.allCases.first(where: { $0.rawValue.lowercased() == parts.dropLast().joined(separator: "_") })
        else { return nil }
        self.init(kind, blockSize: group)
        guard isValidBlockSize else { return nil }
    }
}

extension DType.Kind {
    public var defaultBlockSize: Int {
        switch self {
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1: 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: 256
        case .q8_l2c: 64
        default: 1
        }
    }
}

extension DType: Codable {
    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let t = DType(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown dtype \(name)"))
        }
        self = t
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
