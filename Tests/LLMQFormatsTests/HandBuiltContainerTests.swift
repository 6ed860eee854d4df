import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

/// Containers assembled byte by byte from `formats/llmq.md` alone, as a third party would write
/// them: the reader must accept what the spec allows and refuse the rest without trapping.
@Suite("llmq container from the spec")
struct HandBuiltContainerTests {
    struct Entry {
        var name: String
        var shape: [Int]
        var dtype: UInt32 = 0       // f32
        var blockSize: UInt32 = 1
        var data: [UInt8]
        /// Listed in the table but not stored: its offset is where it would go.
        var missing = false
    }

    static let metadata = #"{"architecture":"llama","config":{"dim":8,"hidden_dim":16,"n_layers":1,"n_heads":2,"n_kv_heads":2,"vocab_size":4,"context_length":16,"rope_theta":10000,"norm_epsilon":1e-05,"shared_classifier":true},"tool":{"name":"by hand","version":"1"}}"#

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func align(_ x: Int, _ a: Int) -> Int { (x + a - 1) / a * a }

    static func build(_ entries: [Entry], alignment: Int = 64, metadata: String = metadata) -> [UInt8] {
        var file = [UInt8](repeating: 0, count: 128)
        var table: [UInt8] = []
        var end = align(128, alignment)
        for e in entries {
            let offset = align(end, alignment)
            if !e.missing {
                file += [UInt8](repeating: 0, count: offset - file.count) + e.data
            }
            end = offset + e.data.count
            var entry = le(UInt16(e.name.utf8.count)) + [UInt8(e.shape.count), 0] + le(e.dtype) + le(e.blockSize) + le(UInt32(0))
            entry += le(UInt64(offset)) + le(UInt64(e.data.count)) + le(UInt64(e.data.count)) + le(XXH64.hash(e.data))
            for d in e.shape { entry += le(UInt64(d)) }
            entry += Array(e.name.utf8)
            table += entry + [UInt8](repeating: 0, count: align(entry.count, 8) - entry.count)
        }
        file += [UInt8](repeating: 0, count: align(file.count, 8) - file.count)
        let tableOffset = file.count
        file += table
        let metadataOffset = file.count  // no tokenizer: its section is empty, the table ends 8-aligned
        let json = Array(metadata.utf8)
        file += json
        var header = [0x89, 0x4C, 0x4C, 0x4D, 0x51, 0x0D, 0x0A, 0x1A] + le(UInt32(1)) + le(UInt32(alignment))
        header += le(UInt32(entries.count)) + le(UInt32(0))
        for v in [file.count, align(128, alignment), tableOffset, table.count, metadataOffset, 0, metadataOffset, json.count] {
            header += le(UInt64(v))
        }
        header += le(XXH64.hash(table)) + le(XXH64.hash([UInt8]())) + le(XXH64.hash(json)) + le(UInt64(0))
        header += le(XXH64.hash(header))
        file.replaceSubrange(0..<128, with: header)
        return file
    }

    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { le($0.bitPattern) } }

    func write(_ bytes: [UInt8]) throws -> String {
        let path = try Fixtures.scratch() + "/hand.llmq"
        try Fixtures.write(bytes, to: path)
        return path
    }

    @Test("a file built from the spec reads back: values, a q8_0 block, byte accounting, --check")
    func valid() throws {
        var block = Self.le(Float16(0.5).bitPattern)
        block += (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        let path = try write(Self.build([
            Entry(name: "a", shape: [3], data: Self.floats([1, -2, 3.5])),
            Entry(name: "b.weight", shape: [1, 32], dtype: 8, blockSize: 32, data: block),
        ], alignment: 128))
        let model = try ModelFile.open(path)
        #expect(model.format.name == "llmq")
        #expect(try Dequantize.tensor(model, named: "a") == [1, -2, 3.5])
        #expect(try Dequantize.tensor(model, named: "b.weight") == (0..<32).map { Float($0 - 16) * 0.5 })
        let report = ModelReport(model)
        #expect(report.totals.accountedBytes == report.fileBytes)
        #expect(ModelFile.check(path).ok)
    }

    @Test("a table entry whose canonical offset lies past the table start is refused, not trapped on")
    func entryPastTheTable() throws {
        // "a" ends at 140, the table starts at 144; "b" would start at 192, inside the table.
        let path = try write(Self.build([
            Entry(name: "a", shape: [3], data: Self.floats([1, 2, 3])),
            Entry(name: "b", shape: [3], data: Self.floats([4, 5, 6]), missing: true),
        ]))
        let report = ModelFile.check(path)
        #expect(report.problems.first?.tensor == "b", "\(report.problems)")
        #expect(report.problems.first?.message.contains("past the data section") == true, "\(report.problems)")
    }

    @Test("alignments outside the spec and a wrong block size are refused")
    func badFields() throws {
        let a = Entry(name: "a", shape: [3], data: Self.floats([1, 2, 3]))
        #expect(!ModelFile.check(try write(Self.build([a], alignment: 32))).ok)
        let odd = Entry(name: "q", shape: [1, 32], dtype: 8, blockSize: 48, data: [UInt8](repeating: 0, count: 50))
        let report = ModelFile.check(try write(Self.build([odd])))
        #expect(report.problems.first?.message.contains("block_size 48") == true, "\(report.problems)")
    }

    /// Metadata edits, and a phrase the one-line error must contain.
    static let hostileMetadata: [(String, String)] = [
        (metadata.replacingOccurrences(of: #"{"architecture":"llama","#, with: #"{"architecture":"llama","architecture":"gpt","#),
         #"duplicate key "architecture""#),
        (metadata.replacingOccurrences(of: #""dim":8,"#, with: #""dim":8,"dim":8,"#), #"duplicate key "dim""#),
        (metadata + " {}", "after the JSON value"),
        (metadata + "\u{0}", "after the JSON value"),
        (String(metadata.dropLast()) + #","extra":"# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}",
         "nesting deeper than 64"),
        (metadata.replacingOccurrences(of: #""tool":{"name":"by hand","version":"1"}"#, with: #""x":1"#), "'tool' is missing"),
        (metadata.replacingOccurrences(of: #""dim":8"#, with: #""dim":"8""#), "'config.dim' is a string, expected an integer"),
        (metadata.replacingOccurrences(of: #""dim":8"#, with: #""dim":8.0"#), "'config.dim' is a non-integer number, expected an integer"),
        (metadata.replacingOccurrences(of: #""shared_classifier":true"#, with: #""shared_classifier":1"#),
         "'config.shared_classifier' is an integer, expected a boolean"),
        (metadata.replacingOccurrences(of: #""rope_theta":10000"#, with: #""rope_theta":1e300"#), "beyond float32's range"),
        (metadata.replacingOccurrences(of: #""architecture":"llama""#, with: #""architecture":["llama"]"#),
         "'architecture' is an array, expected a string"),
        (String(metadata.dropLast()) + #","extra":{"general.name":7}}"#, "'extra.general.name' is an integer, expected a string"),
        (String(metadata.dropLast()) + #","source":{"format":"x","files":[{"name":"a","bytes":-1.5,"xxh64":"0"}]}}"#,
         "'source.files[0].bytes' is a non-integer number"),
        ("[" + metadata + "]", "the document is an array, expected an object"),
    ]

    @Test("hostile metadata (duplicate keys, trailing bytes, deep nesting, wrong kinds) is refused in one line naming the file and the fault",
          arguments: HandBuiltContainerTests.hostileMetadata.indices)
    func badMetadata(index: Int) throws {
        let (json, text) = Self.hostileMetadata[index]
        let a = Entry(name: "a", shape: [3], data: Self.floats([1, 2, 3]))
        let path = try write(Self.build([a], metadata: json))
        let report = ModelFile.check(path)
        #expect(report.problems.first?.place == "metadata", "\(report.problems)")
        #expect(report.problems.first?.message.contains(text) == true, "\(report.problems)")
        do {
            _ = try ModelFile.open(path)
            Issue.record("accepted: \(json)")
        } catch let e as LLMQError {
            #expect(e.file == path && e.description.contains(text) && !e.description.contains("\n"), "\(e.description)")
        }
    }

    @Test("the hand-built metadata itself is accepted, unknown members ignored")
    func goodMetadata() throws {
        let a = Entry(name: "a", shape: [3], data: Self.floats([1, 2, 3]))
        let extended = String(Self.metadata.dropLast()) + #","future":{"anything":[1,null]}}"#
        #expect(ModelFile.check(try write(Self.build([a], metadata: extended))).ok)
    }
}
