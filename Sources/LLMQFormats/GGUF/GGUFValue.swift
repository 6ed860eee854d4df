/// One GGUF metadata value. Strings are kept as their bytes (GGUF says UTF-8, but a vocabulary
/// is copied through unchanged even when a piece is not).
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool)
    case string([UInt8])
    /// Elements all of `elementType` (arrays of arrays may differ in their inner types and lengths).
    case array(GGUFValueType, GGUFArray)

    public static func text(_ s: String) -> GGUFValue { .string(Array(s.utf8)) }

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }

    /// The value of any integer type, when it fits an Int.
    public var int: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: nil
        }
    }

    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var bytes: [UInt8]? {
        if case .string(let v) = self { return v }
        return nil
    }

    /// The string, when it is valid UTF-8.
    public var string: String? {
        bytes.flatMap { String(validating: $0, as: UTF8.self) }
    }

    public var array: GGUFArray? {
        if case .array(_, let v) = self { return v }
        return nil
    }

    /// One line for `inspect`: scalars as they are, long strings cut, arrays as their type, length
    /// and first few elements.
    public var summary: String {
        switch self {
        case .string(let b):
            let s = String(decoding: b, as: UTF8.self)
            let shown = s.count > 80 ? String(s.prefix(77)) + "…" : s
            return "\"" + shown.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\\n") + "\""
        case .array(let t, let items):
            let head = items.prefix(5).map(\.summary).joined(separator: ", ")
            let more = items.count > 5 ? ", …" : ""
            return "[\(items.count) × \(t)] [\(head)\(more)]"
        case .float32(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .uint64(let v): return "\(v)"
        default: return int.map(String.init) ?? "\(self)"
        }
    }
}
