import Foundation
import LLMQCore
import LLMQFormats
import LLMQTestSupport
import Testing

/// Damaged containers: every kind of damage is found, attributed to its place, and never crashes.
@Suite("llmq container damage")
struct HostileContainerTests {
    /// stories260K written once per variant; tests damage copies of it.
    static func pristine(zstd: Bool = false) throws -> (dir: String, bytes: [UInt8], file: ContainerFile) {
        let dir = try Fixtures.scratch()
        let model = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
        try LLMQContainerWriter.write(model, to: dir + "/good.llmq", options: .init(zstdLevel: zstd ? 3 : nil)) {
            ContainerMetadata(config: model.config)
        }
        return (dir, try Fixtures.read(dir + "/good.llmq"), try LLMQContainerReader.open(path: dir + "/good.llmq"))
    }

    static func u64(_ bytes: [UInt8], at offset: Int) -> Int {
        Int(clamping: bytes[offset..<(offset + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    }

    static func put(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 8), with: $0) }
    }

    /// Recomputes the table and header checksums, so only the structural checks can catch an edit.
    static func refreshChecksums(_ bytes: inout [UInt8]) {
        let table = u64(bytes, at: 40), length = u64(bytes, at: 48)
        if table >= 0, length >= 0, table <= bytes.count, length <= bytes.count - table {
            put(XXH64.hash(Array(bytes[table..<(table + length)])), into: &bytes, at: 88)
        }
        put(XXH64.hash(Array(bytes[0..<120])), into: &bytes, at: 120)
    }

    func check(_ bytes: [UInt8], in dir: String) throws -> IntegrityReport {
        let path = dir + "/bad-\(UUID().uuidString.prefix(6)).llmq"
        try Fixtures.write(bytes, to: path)
        return ModelFile.check(path)
    }

    func expectProblem(_ report: IntegrityReport, place: String, tensor: String? = nil, mentioning text: String,
                       sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!report.ok, sourceLocation: sourceLocation)
        let first = report.problems.first
        #expect(first?.place == place, "\(report.problems)", sourceLocation: sourceLocation)
        #expect(first?.tensor == tensor, "\(report.problems)", sourceLocation: sourceLocation)
        #expect(first?.message.contains(text) == true, "\(report.problems)", sourceLocation: sourceLocation)
    }

    @Test("a flipped byte in each section is reported with the section and the reason")
    func flippedBytes() throws {
        let (dir, good, file) = try Self.pristine()
        let h = file.header
        let places: [(Int, String, String)] = [
            (1, "header", "bad magic"),
            (20, "header", "header checksum mismatch"),
            (h.table.offset + 100, "tensor table", "tensor table checksum mismatch"),
            (h.tokenizer.offset + 2000, "tokenizer", "tokenizer checksum mismatch"),
            (h.metadata.offset + 10, "metadata", "metadata checksum mismatch"),
        ]
        for (offset, place, text) in places {
            var bad = good
            bad[offset] ^= 0x10
            expectProblem(try check(bad, in: dir), place: place, mentioning: text)
        }
    }

    @Test("a flipped byte in a tensor names that tensor, in check and on first use")
    func corruptTensor() throws {
        let (dir, good, file) = try Self.pristine()
        let victim = try #require(file.entries.first { $0.name == "blk.2.attn_q.weight" })
        var bad = good
        bad[victim.offset + 1000] ^= 0x01
        let path = dir + "/t.llmq"
        try Fixtures.write(bad, to: path)
        let report = ModelFile.check(path)
        expectProblem(report, place: "tensor", tensor: victim.name, mentioning: "checksum mismatch")
        #expect(report.problems.count == 1)
        // Opening is fine (tensor data is not read); using the tensor is not.
        let model = try LLMQContainerReader.read(path: path)
        #expect(throws: Never.self) { _ = try model.data(named: "blk.1.attn_q.weight") }
        do {
            _ = try model.data(named: victim.name)
            Issue.record("corrupt tensor was accepted")
        } catch let e as LLMQError {
            #expect(e.kind == .integrity && e.tensor == victim.name && e.file == path)
        }
    }

    @Test("non-zero padding is reported at its offset")
    func padding() throws {
        let (dir, good, file) = try Self.pristine(zstd: true)
        let gap = try #require(file.padding.first)
        var bad = good
        bad[gap.offset + gap.length - 1] = 0xAA
        let report = try check(bad, in: dir)
        expectProblem(report, place: gap.name, mentioning: "not zero")
        #expect(report.problems.first?.offset == gap.offset + gap.length - 1)
    }

    @Test("a damaged zstd tensor is caught by its checksum; with a matching checksum, by the decompressor")
    func damagedZstd() throws {
        let (dir, good, file) = try Self.pristine(zstd: true)
        let victim = try #require(file.entries.first { $0.compression == .zstd && $0.storedLength > 4000 })
        var bad = good
        bad[victim.offset + victim.storedLength / 2] ^= 0xFF
        expectProblem(try check(bad, in: dir), place: "tensor", tensor: victim.name, mentioning: "checksum mismatch")
        // Rewrite the entry's checksum to match the damaged bytes: decompression must still fail cleanly.
        let index = try #require(file.entries.firstIndex(of: victim))
        let entryOffset = file.header.table.offset + file.entries[..<index].reduce(0) { $0 + (48 + 8 * $1.shape.count + $1.name.utf8.count + 7) / 8 * 8 }
        Self.put(XXH64.hash(Array(bad[victim.offset..<(victim.offset + victim.storedLength)])), into: &bad, at: entryOffset + 40)
        Self.refreshChecksums(&bad)
        let report = try check(bad, in: dir)
        #expect(!report.ok)
        #expect(report.problems.first?.tensor == victim.name, "\(report.problems)")
    }

    @Test("lengths and offsets edited in the table (checksums recomputed) fail the structural checks")
    func editedTable() throws {
        let (dir, good, file) = try Self.pristine()
        let entry2 = file.header.table.offset + file.entries[0...1].reduce(0) { $0 + (48 + 8 * $1.shape.count + $1.name.utf8.count + 7) / 8 * 8 }
        let edits: [(field: Int, delta: Int, text: String)] = [
            (24, 64, "stored_length"),        // stored_length
            (32, 4, "raw_length"),            // raw_length
            (16, 64, "not the canonical"),    // offset
        ]
        for edit in edits {
            var bad = good
            Self.put(UInt64(Self.u64(bad, at: entry2 + edit.field) + edit.delta), into: &bad, at: entry2 + edit.field)
            Self.refreshChecksums(&bad)
            expectProblem(try check(bad, in: dir), place: "tensor table", tensor: file.entries[2].name, mentioning: edit.text)
        }
        var huge = good
        Self.put(UInt64.max / 2, into: &huge, at: entry2 + 24)
        Self.refreshChecksums(&huge)
        #expect(!(try check(huge, in: dir)).ok)
        var count = good
        count[16] = 200  // tensor_count
        Self.refreshChecksums(&count)
        expectProblem(try check(count, in: dir), place: "header", mentioning: "tensor_count")
    }

    @Test("random edits to the header and table, checksums recomputed, are refused without a crash")
    func randomStructuralEdits() throws {
        let (dir, good, file) = try Self.pristine()
        let path = dir + "/edit.llmq"
        var state: UInt64 = 0x5EED
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        // Offsets in the header's fields (not its checksum) and anywhere in the table.
        let targets = Array(8..<120) + Array(file.header.table.offset..<file.header.table.end)
        var refused = 0
        for _ in 0..<400 {
            var bad = good
            for _ in 0..<(1 + next() % 3) {
                bad[targets[next() % targets.count]] = UInt8(truncatingIfNeeded: next())
            }
            Self.refreshChecksums(&bad)
            try Fixtures.write(bad, to: path)
            if !ModelFile.check(path).ok { refused += 1 }
        }
        // Edits that land on a byte's own value, or on reserved bits a rule allows, change nothing.
        #expect(refused > 350)
    }

    @Test("truncated files report the length the header expects", arguments: [0, 10, 127, 128, 5000, 1_040_000, 1_050_000])
    func truncated(length: Int) throws {
        let (dir, good, _) = try Self.pristine()
        let report = try check(Array(good.prefix(length)), in: dir)
        #expect(!report.ok)
        let message = report.problems.first?.message ?? ""
        #expect(length < 128 ? message.contains("header") || message.contains("empty") || message.contains("magic")
                             : message.contains("header says the file has \(good.count) bytes, it has \(length)"), "\(message)")
    }

    @Test("flipping any single byte is detected", arguments: [false, true])
    func everyByte(zstd: Bool) throws {
        let (dir, good, _) = try Self.pristine(zstd: zstd)
        let path = dir + "/flip.llmq"
        // Every header byte, then a stride through the rest that lands in every section.
        for offset in Array(0..<128) + Array(stride(from: 128, to: good.count, by: 997)) + [good.count - 1] {
            var bad = good
            bad[offset] ^= 0x40
            try Fixtures.write(bad, to: path)
            #expect(!ModelFile.check(path).ok, "flip at \(offset) went unnoticed")
        }
    }
}
