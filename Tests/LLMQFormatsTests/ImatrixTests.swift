import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

@Suite("Importance matrix files")
struct ImatrixTests {
    static let sample = ImportanceMatrix(
        entries: [
            "blk.0.attn_q.weight": .init(sumSquares: [1, 2.5, 0, 4e6], count: 300),
            "blk.0.ffn_down.weight": .init(sumSquares: (0..<96).map { Float($0) * 0.125 }, count: 7),
            "output.weight": .init(sumSquares: [0.5, 0.25, 1, 2, 3, 4, 5, 6], count: 1),
        ],
        datasets: ["calibration.txt"], chunkCount: 3, chunkSize: 100)

    static func written(_ matrix: ImportanceMatrix = sample) throws -> (dir: String, path: String) {
        let dir = try Fixtures.scratch("imatrix")
        let path = dir + "/m.imatrix"
        try ImatrixFile.write(matrix, to: path)
        return (dir, path)
    }

    @Test("an importance matrix survives writing and reading, and gguf-py reads the file as llama.cpp's layout")
    func roundTrip() throws {
        let (dir, path) = try Self.written()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try ImatrixFile.read(path: path) == Self.sample)
        let script = """
            import sys, gguf
            r = gguf.GGUFReader(sys.argv[1])
            f = r.fields["general.type"]
            print(bytes(f.parts[f.data[0]]).decode())
            for t in r.tensors: print(t.name, [int(d) for d in t.shape], t.tensor_type.name, float(t.data.sum()))
            """
        let r = try Fixtures.run("/usr/bin/env", ["python3", "-c", script, path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "imatrix")
        #expect(lines.contains("blk.0.attn_q.weight.in_sum2 [4, 1] F32 4000003.5"))
        #expect(lines.contains("blk.0.attn_q.weight.counts [1, 1] F32 300.0"))
        #expect(lines.count == 1 + 2 * Self.sample.entries.count)
    }

    /// Rewrites `count` bytes at the first occurrence of `find` (plus `shift`) in a written file.
    static func hostile(_ find: String, shift: Int = 0, with bytes: [UInt8]) throws -> (dir: String, path: String) {
        let (dir, path) = try written()
        var data = try Fixtures.read(path)
        let needle = Array(find.utf8)
        let at = try #require((0...(data.count - needle.count)).first { data[$0..<$0 + needle.count].elementsEqual(needle) })
        data.replaceSubrange(at + shift..<at + shift + bytes.count, with: bytes)
        try Fixtures.write(data, to: path)
        return (dir, path)
    }

    static func expectError(_ file: (dir: String, path: String), _ fragment: String, _ kind: LLMQError.Kind = .invalid) {
        defer { try? FileManager.default.removeItem(atPath: file.dir) }
        do {
            let m = try ImatrixFile.read(path: file.path)
            Issue.record("read \(m.entries.count) entries; expected an error about \(fragment)")
        } catch let e as LLMQError {
            #expect(e.kind == kind && e.description.contains(fragment), "\(e)")
            #expect(e.description.contains(file.path), "\(e)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    static func float(_ v: Float) -> [UInt8] { withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }

    /// The byte offset of `output.weight.in_sum2`'s first value.
    static func firstValueOffset(_ path: String, tensor: String) throws -> Int {
        let data = try Fixtures.read(path)
        return try data.withUnsafeBytes { raw in try #require(GGUFFile(raw).tensors.first { $0.name == tensor }).offset }
    }

    @Test("hostile imatrix files fail with an error naming the file, the tensor and the problem")
    func hostileFiles() throws {
        // Not GGUF at all.
        let dir = try Fixtures.scratch("imatrix-text")
        try Fixtures.write(Array("not an imatrix".utf8), to: dir + "/m.imatrix")
        Self.expectError((dir, dir + "/m.imatrix"), "not a GGUF imatrix", .badMagic)
        // A model file, not statistics.
        Self.expectError(try Self.hostile("imatrix", shift: 0, with: Array("imatriz".utf8)), "not \"imatrix\"")
        // A count without its sums, and sums without a count.
        Self.expectError(try Self.hostile("output.weight.in_sum2", with: Array("output.weight.in_sum3".utf8)), "no .in_sum2")
        Self.expectError(try Self.hostile("blk.0.attn_q.weight.counts", with: Array("blk.0.attn_q.weight.countz".utf8)), "no .counts")
        // Mixture-of-experts statistics: in_sum2 of output.weight as [4, 2] (innermost first).
        Self.expectError(try Self.hostile("output.weight.in_sum2", shift: 21 + 4, with: [4, 0, 0, 0, 0, 0, 0, 0, 2]), "mixture-of-experts",
                         .unsupported)
        // An f16 tensor (same data region, half the bytes).
        Self.expectError(try Self.hostile("output.weight.in_sum2", shift: 21 + 4 + 16, with: [1, 0, 0, 0]), "imatrix tensors are f32")
        // Negative and NaN statistics.
        for bad: Float in [-1, .nan, .infinity] {
            let (dir, path) = try Self.written()
            var data = try Fixtures.read(path)
            let at = try Self.firstValueOffset(path, tensor: "output.weight.in_sum2")
            data.replaceSubrange(at..<at + 4, with: Self.float(bad))
            try Fixtures.write(data, to: path)
            Self.expectError((dir, path), "negative or non-finite")
        }
        // A fractional count.
        let (countDir, countPath) = try Self.written()
        var data = try Fixtures.read(countPath)
        let at = try Self.firstValueOffset(countPath, tensor: "output.weight.counts")
        data.replaceSubrange(at..<at + 4, with: Self.float(2.5))
        try Fixtures.write(data, to: countPath)
        Self.expectError((countDir, countPath), "not a whole number")
    }

    @Test("statistics of another model's shape are refused at quantize time; missing matrices weigh nothing special")
    func columnWeights() throws {
        let matrix = Self.sample
        let q = Tensor(name: "blk.0.attn_q.weight", shape: [2, 4], dtype: .f32, offset: 0, storedByteCount: 32)
        let weights = try #require(try matrix.columnWeights(for: q))
        #expect(zip(weights, [1 / 300, 2.5 / 300, 0, 4e6 / 300] as [Float]).allSatisfy { abs($0 - $1) <= 1e-6 * $1 })
        let wide = Tensor(name: "blk.0.attn_q.weight", shape: [2, 8], dtype: .f32, offset: 0, storedByteCount: 64)
        #expect(throws: LLMQError.self) { try matrix.columnWeights(for: wide) }
        let other = Tensor(name: "blk.1.attn_q.weight", shape: [2, 4], dtype: .f32, offset: 0, storedByteCount: 32)
        #expect(try matrix.columnWeights(for: other) == nil)
    }
}
