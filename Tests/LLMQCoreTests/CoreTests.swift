import Foundation
import LLMQCore
import LLMQTestSupport
import Testing

@Suite("Core types")
struct CoreTests {
    @Test("dtype sizes match ggml's block layouts")
    func dtypeSizes() {
        #expect(DType.q8_0.blockBytes == 34)
        #expect(DType.q4_0.blockBytes == 18)
        #expect(DType.q4_1.blockBytes == 20)
        #expect(DType.q5_0.blockBytes == 22)
        #expect(DType.q5_1.blockBytes == 24)
        #expect(DType.q4_K.blockBytes == 144)
        #expect(DType.q6_K.blockBytes == 210)
        #expect(DType.q8_0.bitsPerWeight == 8.5)
        #expect(DType.q4_0.bitsPerWeight == 4.5)
        #expect(DType.q4_1.bitsPerWeight == 5.0)
        #expect(DType.q4_0.byteCount(shape: [3, 64]) == 3 * 2 * 18)
        #expect(DType.q4_0.byteCount(shape: [3, 172]) == nil, "rows must be whole blocks")
        #expect(DType.f32.byteCount(shape: [Int.max, 2]) == nil, "overflow is reported, not trapped")
    }

    @Test("dtype names round-trip, group sizes included")
    func dtypeNames() {
        for name in ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q4_K", "q4_0_g64", "q8_0_g128", "q8_l2c_g32"] {
            #expect(DType(name: name)?.description == name)
        }
        #expect(DType(name: "q4_0_g48") == nil)
        #expect(DType(name: "q9_9") == nil)
        #expect(DType(name: "q4_0_g64")?.blockBytes == 34)
    }

    @Test("checked arithmetic turns overflow into an error")
    func checked() throws {
        #expect(try Checked.mul(3, 4, 5, what: "x") == 60)
        #expect(throws: LLMQError.self) { try Checked.mul(Int.max, 2, what: "x") }
        #expect(throws: LLMQError.self) { try Checked.add(Int.max, 1, what: "x") }
        #expect(throws: LLMQError.self) { try Checked.mul(-1, 2, what: "x") }
    }

    @Test("ByteReader reports the absolute offset of a short read")
    func byteReader() throws {
        let bytes: [UInt8] = [1, 0, 0, 0, 2, 0]
        try bytes.withUnsafeBytes { raw in
            var r = ByteReader(raw, base: 100)
            let first = try r.u32("a")
            #expect(first == 1)
            do {
                _ = try r.u32("field b")
                Issue.record("expected a truncation error")
            } catch let e as LLMQError {
                #expect(e.kind == .truncated)
                #expect(e.offset == 104)
                #expect(e.message.contains("field b"))
            }
        }
    }

    @Test("atomic writes appear only on commit and never replace an input")
    func atomicWriter() throws {
        let dir = try Fixtures.scratch()
        let path = dir + "/out.bin"
        try Fixtures.write([9, 9, 9], to: path)
        do {
            let w = try AtomicFileWriter(path: path)
            try w.write([1, 2, 3, 4])
            #expect(try Fixtures.read(path) == [9, 9, 9], "the old file stays until commit")
            w.abort()
        }
        #expect(try Fixtures.read(path) == [9, 9, 9])
        #expect(!FileManager.default.fileExists(atPath: dir + "/.out.bin.llmq-tmp-\(getpid())"))
        let w = try AtomicFileWriter(path: path)
        try w.write([1, 2, 3, 4])
        try w.align(to: 64)
        try w.commit()
        #expect(try Fixtures.read(path).count == 64)

        let link = dir + "/link.bin"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        #expect(throws: LLMQError.self) { try AtomicFileWriter(path: link, refusingToOverwrite: [path]) }
    }

    @Test("a mapped slice outside the file is an error naming the range")
    func mappedSlice() throws {
        let dir = try Fixtures.scratch()
        try Fixtures.write([UInt8](repeating: 7, count: 10), to: dir + "/f")
        let file = try MappedFile(path: dir + "/f")
        #expect(try file.slice(offset: 2, length: 8, what: "t").count == 8)
        #expect(throws: LLMQError.self) { try file.slice(offset: 2, length: 9, what: "t") }
        #expect(throws: LLMQError.self) { try file.slice(offset: Int.max, length: 2, what: "t") }
        #expect(throws: LLMQError.self) { try MappedFile(path: dir + "/missing") }
        #expect(throws: LLMQError.self) { try MappedFile(path: dir) }
    }

    @Test("patch rewrites bytes already written (past the buffer too) and refuses ranges not yet written")
    func patch() throws {
        let path = try Fixtures.scratch() + "/p.bin"
        let w = try AtomicFileWriter(path: path)
        try w.writeZeros(8)
        try w.write([UInt8](repeating: 7, count: 3 << 20))
        try w.patch(at: 2, [1, 2, 3])
        #expect(throws: LLMQError.self) { try w.patch(at: w.position - 1, [9, 9]) }
        try w.write(UInt8(5))
        try w.commit()
        let bytes = try Fixtures.read(path)
        #expect(bytes.prefix(8) == [0, 0, 1, 2, 3, 0, 0, 0])
        #expect(bytes.count == 8 + (3 << 20) + 1 && bytes.last == 5)
    }

    @Test("dropping a mapped range's pages keeps its bytes readable")
    func dropPages() throws {
        let path = try Fixtures.scratch() + "/d.bin"
        try Fixtures.write((0..<100_000).map { UInt8($0 % 251) }, to: path)
        let file = try MappedFile(path: path)
        let before = Array(file.bytes)
        file.dropPages(offset: 1000, length: 90_000)
        file.dropPages(offset: -5, length: 10)
        file.dropPages(offset: 99_999, length: 100)
        #expect(Array(file.bytes) == before)
    }
}
