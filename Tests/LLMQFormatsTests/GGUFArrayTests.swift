import LLMQCore
import LLMQFormats
import Testing

/// GGUF metadata arrays kept as the file's bytes: every element must still read back as the
/// value the file holds, and a packed array must equal the same values held one by one.
@Suite("GGUF arrays")
struct GGUFArrayTests {
    static let scalars: [(GGUFValueType, [GGUFValue])] = [
        (.uint8, [.uint8(0), .uint8(255)]), (.int8, [.int8(-128), .int8(127)]),
        (.uint16, [.uint16(1), .uint16(.max)]), (.int16, [.int16(.min), .int16(-1)]),
        (.uint32, [.uint32(7), .uint32(.max)]), (.int32, [.int32(.min), .int32(42)]),
        (.uint64, [.uint64(.max), .uint64(3)]), (.int64, [.int64(.min), .int64(-9)]),
        (.float32, [.float32(-0.5), .float32(.infinity)]), (.float64, [.float64(1e300), .float64(-2.25)]),
        (.bool, [.bool(true), .bool(false)]),
    ]

    @Test("arrays of every scalar type read back element by element from their packed bytes")
    func scalarArrays() throws {
        var b = GGUFBytes(tensors: 0, keys: UInt64(Self.scalars.count))
        for (type, values) in Self.scalars {
            b.array("a.\(type)", of: type, count: UInt64(values.count))
            for v in values {
                switch v {
                case .float32(let f): b.int(f.bitPattern)
                case .float64(let d): b.int(d.bitPattern)
                case .bool(let x): b.int(UInt8(x ? 1 : 0))
                case .uint64(let u): b.int(u)
                case .int64(let i): b.int(i)
                default: b.bytes += withUnsafeBytes(of: v.int!) { Array($0.prefix(type.scalarSize!)) }
                }
            }
        }
        let file = try b.bytes.withUnsafeBytes { try GGUFFile($0) }
        for (type, values) in Self.scalars {
            let array = try #require(file["a.\(type)"]?.array)
            #expect(Array(array) == values, "\(type)")
            #expect(file["a.\(type)"] == .array(type, GGUFArray(values)))
        }
    }

    @Test("packing keeps values: one type packed, strings with empty ones, mixed arrays as they are")
    func packing() {
        let cases: [[GGUFValue]] = [
            [.int32(1), .int32(-1), .int32(.max)], [.text("a"), .text(""), .text("héllo"), .text("")],
            [.uint8(1), .int8(1)], [.array(.uint8, [.uint8(1)]), .array(.string, [])], [],
        ]
        for values in cases {
            let packed = GGUFArray(values)
            #expect(packed.count == values.count && Array(packed) == values, "\(values)")
        }
        #expect(GGUFArray([.uint8(1), .uint8(2)]) != GGUFArray([.uint8(1), .uint8(3)]))
        #expect(GGUFArray([.uint8(1)]) != GGUFArray([.int8(1)]))
    }

    @Test("a bool array element that is not 0 or 1 is refused with its index and offset")
    func badBool() throws {
        var b = GGUFBytes(tensors: 0, keys: 1)
        b.array("flags", of: .bool, count: 3)
        let first = b.bytes.count
        b.bytes += [1, 0, 2]
        do {
            _ = try b.bytes.withUnsafeBytes { try GGUFFile($0) }
            Issue.record("expected an error")
        } catch let e as LLMQError {
            #expect(e.message.contains("metadata 'flags'[2] is a bool holding 2") && e.offset == first + 2, "\(e)")
        }
    }
}
