/// The elements of a GGUF metadata array, held as compactly as the file holds them: numbers and
/// bools as their little-endian bytes, strings as one byte buffer and each one's end, and only
/// arrays of arrays as a `GGUFValue` each. A `GGUFValue` per element would take 16 bytes for a
/// 1-byte u8, so a file of one big array could make the reader allocate 16 times its size; this
/// way metadata never takes much more memory than the bytes it came from. Elements are decoded
/// when read.
public struct GGUFArray: RandomAccessCollection, Equatable, Sendable, ExpressibleByArrayLiteral {
    private enum Storage: Sendable {
        case scalars(GGUFValueType, [UInt8])
        case strings(bytes: [UInt8], ends: [Int])
        case values([GGUFValue])
    }

    private let storage: Storage
    public let endIndex: Int
    public var startIndex: Int { 0 }

    /// Packs `values` when they are all of one scalar type or all strings.
    public init(_ values: [GGUFValue]) {
        let type = values.first?.type
        if let type, values.allSatisfy({ $0.type == type }) {
            if type == .string {
                var bytes: [UInt8] = [], ends: [Int] = []
                for case .string(let s) in values {
                    bytes += s
                    ends.append(bytes.count)
                }
                self.init(strings: bytes, ends: ends)
                return
            }
            if let size = type.scalarSize {
                var bytes: [UInt8] = []
                bytes.reserveCapacity(values.count * size)
                for v in values { v.appendScalarBytes(to: &bytes) }
                self.init(scalars: type, bytes: bytes)
                return
            }
        }
        self.init(storage: .values(values), count: values.count)
    }

    public init(arrayLiteral elements: GGUFValue...) {
        self.init(elements)
    }

    /// `bytes.count / type.scalarSize` values of scalar `type`, little-endian (bools already 0 or 1).
    init(scalars type: GGUFValueType, bytes: [UInt8]) {
        self.init(storage: .scalars(type, bytes), count: bytes.count / type.scalarSize!)
    }

    /// Strings concatenated in `bytes`; string i ends at `ends[i]` (and starts where i − 1 ends).
    init(strings bytes: [UInt8], ends: [Int]) {
        self.init(storage: .strings(bytes: bytes, ends: ends), count: ends.count)
    }

    private init(storage: Storage, count: Int) {
        self.storage = storage
        endIndex = count
    }

    public subscript(i: Int) -> GGUFValue {
        switch storage {
        case .values(let values):
            return values[i]
        case .strings(let bytes, let ends):
            return .string(Array(bytes[(i == 0 ? 0 : ends[i - 1])..<ends[i]]))
        case .scalars(let type, let bytes):
            return bytes.withUnsafeBytes { GGUFValue.scalar(type, $0, at: i * type.scalarSize!) }
        }
    }

    public static func == (a: GGUFArray, b: GGUFArray) -> Bool {
        a.elementsEqual(b)
    }
}

extension GGUFValue {
    /// The scalar of `type` stored little-endian at `offset` (bools are known to be 0 or 1).
    static func scalar(_ type: GGUFValueType, _ raw: UnsafeRawBufferPointer, at offset: Int) -> GGUFValue {
        func load<T: FixedWidthInteger>(_: T.Type) -> T { T(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: T.self)) }
        switch type {
        case .uint8: return .uint8(load(UInt8.self))
        case .int8: return .int8(load(Int8.self))
        case .uint16: return .uint16(load(UInt16.self))
        case .int16: return .int16(load(Int16.self))
        case .uint32: return .uint32(load(UInt32.self))
        case .int32: return .int32(load(Int32.self))
        case .uint64: return .uint64(load(UInt64.self))
        case .int64: return .int64(load(Int64.self))
        case .float32: return .float32(Float(bitPattern: load(UInt32.self)))
        case .float64: return .float64(Double(bitPattern: load(UInt64.self)))
        case .bool: return .bool(load(UInt8.self) != 0)
        case .string, .array: preconditionFailure("\(type) is not a scalar type")
        }
    }

    /// Appends a scalar's little-endian bytes (nothing for strings and arrays).
    func appendScalarBytes(to bytes: inout [UInt8]) {
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        switch self {
        case .uint8(let v): put(v)
        case .int8(let v): put(v)
        case .uint16(let v): put(v)
        case .int16(let v): put(v)
        case .uint32(let v): put(v)
        case .int32(let v): put(v)
        case .uint64(let v): put(v)
        case .int64(let v): put(v)
        case .float32(let v): put(v.bitPattern)
        case .float64(let v): put(v.bitPattern)
        case .bool(let v): put(UInt8(v ? 1 : 0))
        case .string, .array: break
        }
    }
}
