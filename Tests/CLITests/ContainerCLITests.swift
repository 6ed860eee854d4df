import Foundation
import LLMQCore
import LLMQTestSupport
import Testing

/// The container through the command line: convert, dequantize, inspect, --check and run.
@Suite("llmq container commands")
struct ContainerCLITests {
    static let golden = Fixtures.golden("run/stories260K.t0.n256.txt")

    func convert(_ arguments: String...) throws -> String {
        let dir = try Fixtures.scratch()
        let out = dir + "/m.llmq"
        let r = try Fixtures.llmq(["convert", Fixtures.stories260K, out, "-z", Fixtures.tok512] + arguments)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("wrote \(out)"))
        return out
    }

    @Test("an fp32 container runs with its embedded tokenizer and prints run.c's greedy story")
    func runEmbedded() throws {
        let out = try convert()
        let r = try Fixtures.llmq("run", out, "-t", "0", "-n", "256")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try String(contentsOfFile: Self.golden, encoding: .utf8)))
    }

    @Test("inspect accounts for every byte and shows compressed and raw sizes; --check passes")
    func inspectZstd() throws {
        let out = try convert("--zstd=5")
        let json = try expectEveryByteAccounted(out)
        let container = try #require(json["container"] as? [String: Any])
        #expect(container["compressedTensors"] as? Int == 36)
        let text = try Fixtures.llmq("inspect", out)
        #expect(text.stdout.contains("f32+zstd"))
        #expect(text.stdout.contains("stored"))
        #expect(text.stdout.contains("raw"))
        #expect(text.stdout.contains("created = convert zstd=5"))
        #expect(text.stdout.contains("source.file = stories260K.bin, 1056540 bytes, xxh64 "))
        let check = try Fixtures.llmq("inspect", out, "--check")
        #expect(check.status == 0)
        #expect(check.stdout.contains("integrity: ok"))
        #expect(check.stdout.contains("36 zstd tensors decompressed"))
    }

    @Test("dequantize and convert back to llama2.c give the source's tensors bit for bit")
    func backToLlama2C() throws {
        let container = try convert("--zstd")
        let dir = try Fixtures.scratch()
        for (command, out) in [("convert", dir + "/c.bin"), ("dequantize", dir + "/d.bin")] {
            let r = try Fixtures.llmq(command, container, out)
            #expect(r.status == 0, "\(r.stderr)")
            // Byte-identical up to the unused RoPE tables (recomputed in fp32) at the end of the tensors.
            let a = try Fixtures.read(out), b = try Fixtures.read(Fixtures.stories260K)
            #expect(a.count == b.count)
            #expect(a.prefix(1_040_156) == b.prefix(1_040_156))
        }
        let again = try Fixtures.llmq("dequantize", container, dir + "/e.llmq")
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Fixtures.llmq("inspect", dir + "/e.llmq", "--check").status == 0)
    }

    @Test("a llama2.c input picks up tokenizer.bin beside it")
    func tokenizerBeside() throws {
        let dir = try Fixtures.scratch()
        try FileManager.default.copyItem(atPath: Fixtures.stories260K, toPath: dir + "/model.bin")
        try FileManager.default.copyItem(atPath: Fixtures.tok512, toPath: dir + "/tokenizer.bin")
        let r = try Fixtures.llmq("convert", dir + "/model.bin", dir + "/model.llmq")
        #expect(r.status == 0, "\(r.stderr)")
        let run = try Fixtures.llmq("run", dir + "/model.llmq", "-t", "0", "-n", "16")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("Once upon a time"), "\(run.stdout)")
    }

    @Test("a corrupt tensor: --check and run name it and exit 2")
    func corruptTensor() throws {
        let out = try convert()
        let json = try expectEveryByteAccounted(out)
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        let victim = try #require(tensors.first { $0["name"] as? String == "blk.2.attn_q.weight" })
        var bytes = try Fixtures.read(out)
        bytes[(victim["offset"] as! Int) + 123] ^= 0x08
        try Fixtures.write(bytes, to: out)
        let check = try Fixtures.llmq("inspect", out, "--check")
        #expect(check.status == 2)
        #expect(check.stdout.contains("BAD tensor 'blk.2.attn_q.weight'"))
        #expect(check.stdout.contains("checksum mismatch"))
        #expect(check.stderr.split(separator: "\n").count == 1)
        let run = try Fixtures.llmq("run", out, "-n", "8")
        #expect(run.status == 2)
        #expect(run.stderr.contains("tensor 'blk.2.attn_q.weight'") && run.stderr.contains("checksum mismatch"), "\(run.stderr)")
        let checkJSON = try Fixtures.llmq("inspect", out, "--check", "--json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(checkJSON.stdout.utf8)) as? [String: Any])
        let problems = try #require(report["problems"] as? [[String: Any]])
        #expect(problems.count == 1 && problems[0]["tensor"] as? String == "blk.2.attn_q.weight")
    }

    @Test("a flipped byte in the header, table, tokenizer or metadata stops check and run, naming the place",
          arguments: [("header", "header checksum mismatch"), ("tensor table", "tensor table checksum mismatch"),
                      ("tokenizer", "tokenizer checksum mismatch"), ("metadata", "metadata checksum mismatch")])
    func corruptSection(place: String, message: String) throws {
        let out = try convert()
        let json = try expectEveryByteAccounted(out)
        let regions = try #require(json["regions"] as? [[String: Any]])
        let region = try #require(regions.first { $0["name"] as? String == place })
        var bytes = try Fixtures.read(out)
        bytes[(region["offset"] as! Int) + (region["length"] as! Int) / 2] ^= 0x20
        try Fixtures.write(bytes, to: out)
        let check = try Fixtures.llmq("inspect", out, "--check")
        #expect(check.status == 2)
        #expect(check.stdout.contains("BAD \(place)") && check.stdout.contains(message), "\(check.stdout)")
        let run = try Fixtures.llmq("run", out, "-n", "8")
        #expect(run.status == 2)
        #expect(run.stderr.contains(message) && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }

    @Test("non-zero padding fails --check with its offset; it cannot change what runs")
    func corruptPadding() throws {
        let out = try convert("--zstd")
        let json = try expectEveryByteAccounted(out)
        let regions = try #require(json["regions"] as? [[String: Any]])
        let gap = try #require(regions.first { ($0["name"] as? String)?.hasPrefix("padding") == true })
        var bytes = try Fixtures.read(out)
        let offset = gap["offset"] as! Int
        bytes[offset] = 1
        try Fixtures.write(bytes, to: out)
        let check = try Fixtures.llmq("inspect", out, "--check")
        #expect(check.status == 2)
        #expect(check.stdout.contains("offset \(offset): padding byte is 1, not zero"), "\(check.stdout)")
        #expect(try Fixtures.llmq("run", out, "-n", "8").status == 0)
    }

    @Test("a truncated container fails inspect and run with exit 2, naming the sizes")
    func truncated() throws {
        let out = try convert()
        let bytes = try Fixtures.read(out)
        try Fixtures.write(Array(bytes.prefix(600_000)), to: out)
        for args in [["inspect", out], ["inspect", out, "--check"], ["run", out]] {
            let r = try Fixtures.llmq(args)
            #expect(r.status == 2)
            #expect(r.stderr.contains("header says the file has \(bytes.count) bytes, it has 600000"), "\(r.stderr)")
        }
    }

    @Test("writes are atomic: no output from a bad input, and the input is never overwritten")
    func atomic() throws {
        let dir = try Fixtures.scratch()
        try Fixtures.write([1, 2, 3, 4, 5, 6, 7, 8], to: dir + "/bad.bin")
        let bad = try Fixtures.llmq("convert", dir + "/bad.bin", dir + "/out.llmq")
        #expect(bad.status == 2)
        let out = try convert()
        let before = try Fixtures.read(out)
        let over = try Fixtures.llmq("convert", out, out)
        #expect(over.status == 2 && over.stderr.contains("refusing to overwrite"))
        let overDequantized = try Fixtures.llmq("dequantize", out, out)
        #expect(overDequantized.status == 2)
        #expect(try Fixtures.read(out) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["bad.bin"])
        let unknown = try Fixtures.llmq("convert", Fixtures.stories260K, dir + "/x.unknown")
        #expect(unknown.status == 2 && unknown.stderr.contains("extension"))
    }
}

/// Tensor and region byte ranges from `inspect --json`, which must tile the file exactly.
@discardableResult
func expectEveryByteAccounted(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let r = try Fixtures.llmq("inspect", path, "--json")
    #expect(r.status == 0, "\(r.stderr)", sourceLocation: sourceLocation)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    let tensors = try #require(json["tensors"] as? [[String: Any]])
    let regions = try #require(json["regions"] as? [[String: Any]])
    var ranges = tensors.map { ($0["offset"] as! Int, $0["end"] as! Int) }
    ranges += regions.map { ($0["offset"] as! Int, ($0["offset"] as! Int) + ($0["length"] as! Int)) }
    ranges.sort { $0.0 < $1.0 }
    var cursor = 0
    for (start, end) in ranges {
        #expect(start == cursor, "gap or overlap at \(start)", sourceLocation: sourceLocation)
        cursor = end
    }
    let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    #expect(cursor == size, sourceLocation: sourceLocation)
    return json
}
