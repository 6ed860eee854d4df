import Foundation
import LLMQCore
import LLMQFormats
import LLMQTestSupport
import Testing

/// GGUF bytes built field by field, for files no writer would produce.
struct GGUFBytes {
    var bytes: [UInt8] = []

    init(tensors: UInt64, keys: UInt64, version: UInt32 = 3) {
        int(GGUF.magic); int(version); int(tensors); int(keys)
    }

    mutating func int<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { int(UInt64(s.utf8.count)); bytes += s.utf8 }
    mutating func key(_ k: String, _ type: GGUFValueType) { string(k); int(type.rawValue) }
    mutating func array(_ k: String, of element: GGUFValueType, count: UInt64) { key(k, .array); int(element.rawValue); int(count) }

    mutating func tensor(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        string(name); int(UInt32(dims.count))
        for d in dims { int(d) }
        int(type); int(offset)
    }

    mutating func align(_ n: Int = 32) { bytes += [UInt8](repeating: 0, count: (n - bytes.count % n) % n) }
}

/// Bad GGUF files: each must give an LLMQError naming the file, the offset and the problem —
/// never a crash, never an allocation sized by a header field.
@Suite("GGUF bad input")
struct HostileGGUFTests {
    /// stories260K.gguf, read once. A fixture that cannot be read fails the tests that use it, not
    /// the whole test run (as a `try!` here once did).
    static let fixture = Result { () throws -> (bytes: [UInt8], file: GGUFFile) in
        let bytes = try Fixtures.read(Fixtures.stories260KGGUF)
        return (bytes, try bytes.withUnsafeBytes { try GGUFFile($0) })
    }
    static var original: [UInt8] { get throws { try fixture.get().bytes } }
    static var parsed: GGUFFile { get throws { try fixture.get().file } }

    /// Where metadata entry `key`'s type tag is.
    static func typeOffset(_ key: String) throws -> Int {
        try parsed.metadata.first { $0.key == key }!.offset + 8 + key.utf8.count
    }

    /// Where the first tensor info's fields are (its name is token_embd.weight, two dimensions).
    static var firstInfo: Int { get throws { try parsed.tensorInfoRange.lowerBound } }
    static var firstDims: Int { get throws { try firstInfo + 8 + 17 + 4 } }
    static var firstType: Int { get throws { try firstDims + 16 } }
    static var firstOffset: Int { get throws { try firstType + 4 } }
    static var secondOffset: Int { get throws { try firstOffset + 8 + 8 + 18 + 4 + 8 + 4 } }

    static func patched<T: FixedWidthInteger>(_ offset: Int, _ value: T, in bytes: [UInt8]? = nil) throws -> [UInt8] {
        var copy = try bytes ?? original
        withUnsafeBytes(of: value.littleEndian) { copy.replaceSubrange(offset..<(offset + $0.count), with: $0) }
        return copy
    }

    @discardableResult
    func expectError(_ bytes: [UInt8], _ kind: LLMQError.Kind? = nil, mentioning text: String,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> LLMQError? {
        let dir = try Fixtures.scratch()
        let path = dir + "/bad.gguf"
        try Fixtures.write(bytes, to: path)
        do {
            _ = try ModelFile.open(path)
            Issue.record("expected an error", sourceLocation: sourceLocation)
            return nil
        } catch let e as LLMQError {
            #expect(e.file == path, sourceLocation: sourceLocation)
            if let kind { #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation) }
            #expect(e.description.contains(text), "\(e)", sourceLocation: sourceLocation)
            return e
        }
    }

    @Test("header: truncated, wrong version, byte-swapped, counts larger than the file")
    func header() throws {
        try expectError(Array("GGUF".utf8), .truncated, mentioning: "GGUF version")
        try expectError(Self.patched(4, UInt32(1)), .unsupported, mentioning: "version 1")
        try expectError(Self.patched(4, UInt32(3).byteSwapped), .unsupported, mentioning: "big-endian")
        try expectError(Self.patched(8, UInt64(1) << 60), .invalid, mentioning: "tensor count 1152921504606846976 cannot fit")
        try expectError(Self.patched(16, UInt64.max), .invalid, mentioning: "key/value count")
        do {
            _ = try Self.original.withUnsafeBytes { try GGUFFile(UnsafeRawBufferPointer(rebasing: $0[4...])) }
            Issue.record("expected a bad magic error")
        } catch let e as LLMQError {
            #expect(e.kind == .badMagic && e.offset == 0)
        }
    }

    @Test("a string length larger than the file, a huge array count, unknown value types")
    func metadata() throws {
        let e = try expectError(Self.patched(24, UInt64(Self.original.count)), .truncated, mentioning: "claims \(Self.original.count) bytes")
        #expect(e?.offset == 24)
        let tokens = try Self.typeOffset("tokenizer.ggml.tokens")
        try expectError(Self.patched(tokens + 8, UInt64(1) << 62), .invalid, mentioning: "element count of metadata 'tokenizer.ggml.tokens'")
        try expectError(Self.patched(tokens + 8, UInt64.max), .invalid, mentioning: "cannot fit")
        try expectError(Self.patched(tokens + 16, UInt64(1) << 50), .truncated, mentioning: "'tokenizer.ggml.tokens'[0] claims")
        try expectError(Self.patched(tokens, UInt32(13)), .invalid, mentioning: "type of metadata 'tokenizer.ggml.tokens' is 13")
        try expectError(Self.patched(tokens + 4, UInt32(99)), .invalid, mentioning: "element type")
    }

    @Test("tensor infos: unknown and unreadable types, too many dimensions, overflowing shapes")
    func tensorInfos() throws {
        try expectError(Self.patched(Self.firstType, UInt32(99)), .unsupported, mentioning: "ggml type 99")
        let iq = try expectError(Self.patched(Self.firstType, UInt32(21)), .unsupported, mentioning: "21 (IQ3_S)")
        #expect(try iq?.tensor == "token_embd.weight" && iq?.offset == Self.firstType)
        try expectError(Self.patched(Self.firstDims - 4, UInt32(5)), .invalid, mentioning: "5 dimensions")
        var overflow = try Self.patched(Self.firstDims, UInt64(1) << 40)
        overflow = try Self.patched(Self.firstDims + 8, UInt64(1) << 40, in: overflow)
        try expectError(overflow, .invalid, mentioning: "more elements than fit")
        try expectError(Self.patched(Self.firstDims, UInt64.max), .invalid, mentioning: "more than any file")
    }

    @Test("tensor data: past the end, misaligned, overlapping")
    func tensorData() throws {
        try expectError(Self.patched(Self.firstOffset, UInt64(1) << 40), .truncated, mentioning: "runs past the end")
        try expectError(Self.patched(Self.firstOffset, UInt64(4)), .invalid, mentioning: "not a multiple of the alignment 32")
        try expectError(Self.patched(Self.firstOffset, UInt64.max), .invalid, mentioning: "past any file")
        let e = try expectError(Self.patched(Self.secondOffset, UInt64(0)), .invalid, mentioning: "overlaps tensor 'token_embd.weight'")
        #expect(e?.tensor == "output_norm.weight")
    }

    @Test("truncated anywhere: every cut of the header and some of the data fail cleanly")
    func truncatedAnywhere() throws {
        let cuts = try Array(0..<2000) + Array(stride(from: 2000, to: Self.original.count, by: 997))
        for cut in cuts {
            let bytes = try Array(Self.original.prefix(cut))
            let failed = bytes.withUnsafeBytes { (try? GGUFFile($0)) == nil }
            #expect(failed, "a file cut at \(cut) bytes was accepted")
        }
        try expectError(Array(Self.original.prefix(Self.parsed.dataOffset + 100)), .truncated, mentioning: "runs past the end")
    }

    @Test("random byte changes in the header parse or fail with an LLMQError, and parsed tensors stay inside the file")
    func randomCorruption() throws {
        var rng = SplitMix64(seed: 11)
        let header = try Self.parsed.dataOffset
        for _ in 0..<2000 {
            var bytes = try Self.original
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes[Int.random(in: 0..<header, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                let file = try bytes.withUnsafeBytes { try GGUFFile($0) }
                for t in file.tensors { #expect(t.offset >= 0 && t.offset + t.byteCount <= bytes.count, "\(t.name)") }
            } catch is LLMQError {
                continue
            }
        }
    }

    @Test("bool values, alignment, duplicate keys and names, array nesting, row sizes")
    func builtFiles() throws {
        var b = GGUFBytes(tensors: 0, keys: 1)
        b.key("flag", .bool); b.bytes.append(2)
        try expectError(b.bytes, .invalid, mentioning: "bool holding 2")

        b = GGUFBytes(tensors: 0, keys: 1)
        b.key("general.alignment", .uint32); b.int(UInt32(48))
        try expectError(b.bytes, .invalid, mentioning: "power of two")

        b = GGUFBytes(tensors: 0, keys: 2)
        b.key("a", .uint8); b.bytes.append(1)
        b.key("a", .uint8); b.bytes.append(2)
        try expectError(b.bytes, .invalid, mentioning: "'a' appears twice")

        b = GGUFBytes(tensors: 0, keys: 1)
        b.array("deep", of: .array, count: 1)
        for _ in 0..<20 { b.int(GGUFValueType.array.rawValue); b.int(UInt64(1)) }
        try expectError(b.bytes, .invalid, mentioning: "deeper than 8")

        b = GGUFBytes(tensors: 2, keys: 0)
        b.tensor("t", dims: [32], type: 0, offset: 0)
        b.tensor("t", dims: [32], type: 0, offset: 128)
        try expectError(b.bytes, .invalid, mentioning: "appears twice")

        b = GGUFBytes(tensors: 1, keys: 0)
        b.tensor("q", dims: [48, 2], type: 2, offset: 0)   // q4_0 rows of 48: not whole 32-blocks
        try expectError(b.bytes, .invalid, mentioning: "not a whole number of 32-element blocks")
    }

    /// The fuzzer's timeout (Fuzz/Regressions/gguf/layers-without-tensors): a layer count the
    /// tensors cannot back once made the checks list every name it implies (16.7 M layers: 151 M
    /// names) before finding the first missing one.
    @Test("a block count of 2^24 with five layers of tensors fails at the first missing one, for run and for convert")
    func layersWithoutTensors() throws {
        let offset = try Self.parsed.metadata.first { $0.key == "llama.block_count" }!.offset + 8 + "llama.block_count".utf8.count + 4
        let dir = try Fixtures.scratch()
        let path = dir + "/layers.gguf"
        try Fixtures.write(Self.patched(offset, UInt32(1 << 24)), to: path)
        let model = try ModelFile.open(path)
        #expect(model.config.layerCount == 1 << 24)
        #expect(throws: LLMQError.self) { try model.validateLlamaTensors() }
        do {
            try model.validateLlamaTensors()
        } catch let e as LLMQError {
            #expect(e.description.contains("blk.5.attn_norm.weight"), "\(e)")
        }
        #expect(throws: LLMQError.self) { try ModelFile.write(model, to: dir + "/out.gguf") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.gguf"))
        #expect(CanonicalName.isExpected("blk.16777215.ffn_up.weight", model.config))
        #expect(!CanonicalName.isExpected("blk.16777216.ffn_up.weight", model.config) && !CanonicalName.isExpected("blk.01.ffn_up.weight", model.config))
    }

    @Test("valid GGUF without llama metadata is refused with the missing key named")
    func notLlama() throws {
        var b = GGUFBytes(tensors: 0, keys: 0)
        try expectError(b.bytes, .invalid, mentioning: "no general.architecture")
        b = GGUFBytes(tensors: 0, keys: 1)
        b.key("general.architecture", .string); b.string("mamba")
        try expectError(b.bytes, .unsupported, mentioning: "\"mamba\"")
        b = GGUFBytes(tensors: 0, keys: 1)
        b.key("general.architecture", .string); b.string("llama")
        try expectError(b.bytes, .invalid, mentioning: "metadata has no llama.attention.head_count")
        b = GGUFBytes(tensors: 0, keys: 2)
        b.key("general.architecture", .string); b.string("llama")
        b.key("llama.attention.head_count", .float32); b.int(Float(8).bitPattern)
        try expectError(b.bytes, .invalid, mentioning: "llama.attention.head_count must be a positive integer, found f32 8.0")
    }

    @Test("every value type reads back, arrays of strings and of arrays included")
    func allValueTypes() throws {
        var b = GGUFBytes(tensors: 0, keys: 14)
        b.key("u8", .uint8); b.int(UInt8(200))
        b.key("i8", .int8); b.int(Int8(-5))
        b.key("u16", .uint16); b.int(UInt16(60000))
        b.key("i16", .int16); b.int(Int16(-30000))
        b.key("u32", .uint32); b.int(UInt32(4_000_000_000))
        b.key("i32", .int32); b.int(Int32(-2_000_000_000))
        b.key("u64", .uint64); b.int(UInt64.max)
        b.key("i64", .int64); b.int(Int64.min)
        b.key("f32", .float32); b.int(Float(1.5).bitPattern)
        b.key("f64", .float64); b.int(Double(-2.25).bitPattern)
        b.key("yes", .bool); b.bytes.append(1)
        b.key("s", .string); b.string("héllo")
        b.array("strings", of: .string, count: 2); b.string("a"); b.string("")
        b.array("nested", of: .array, count: 2)
        b.int(GGUFValueType.int32.rawValue); b.int(UInt64(2)); b.int(Int32(1)); b.int(Int32(2))
        b.int(GGUFValueType.string.rawValue); b.int(UInt64(1)); b.string("x")
        let file = try b.bytes.withUnsafeBytes { try GGUFFile($0) }
        let expected: [GGUFValue] = [
            .uint8(200), .int8(-5), .uint16(60000), .int16(-30000), .uint32(4_000_000_000), .int32(-2_000_000_000),
            .uint64(.max), .int64(.min), .float32(1.5), .float64(-2.25), .bool(true), .text("héllo"),
            .array(.string, [.text("a"), .text("")]),
            .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.string, [.text("x")])]),
        ]
        #expect(file.metadata.map(\.value) == expected)
        #expect(file.dataOffset == 32 * ((b.bytes.count + 31) / 32))
        #expect(file["nested"]?.summary == "[2 × array] [[2 × i32] [1, 2], [1 × string] [\"x\"]]")
    }
}
