import Foundation
import LLMQTestSupport
import Testing

/// Whole command lines against the built `llmq`, as a user types them.
@Suite("llmq command line")
struct CLITests {
    @Test("run -t 0 prints run.c's greedy story and the speed on stderr")
    func runGreedy() throws {
        let r = try Fixtures.llmq("run", Fixtures.stories260K, "-z", Fixtures.tok512, "-t", "0", "-n", "256")
        #expect(r.status == 0)
        #expect(r.stdout == (try String(contentsOfFile: Fixtures.golden("run/stories260K.t0.n256.txt"), encoding: .utf8)))
        #expect(r.stderr.contains("achieved tok/s:"))
    }

    @Test("run with run.c's seed prints the same seeded story")
    func runSeeded() throws {
        let r = try Fixtures.llmq("run", Fixtures.stories260K, "-z", Fixtures.tok512, "-t", "1.0", "-p", "0.9", "-s", "133742", "-n", "256")
        #expect(r.stdout == (try String(contentsOfFile: Fixtures.golden("run/stories260K.t1.p0.9.s133742.n256.txt"), encoding: .utf8)))
    }

    @Test("inspect --json lists every tensor with a byte range that tiles the file")
    func inspectJSON() throws {
        let r = try Fixtures.llmq("inspect", Fixtures.stories260K, "--json")
        #expect(r.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        let regions = try #require(json["regions"] as? [[String: Any]])
        #expect(tensors.count == 47)
        var ranges = tensors.map { ($0["offset"] as! Int, $0["end"] as! Int) }
        ranges += regions.map { ($0["offset"] as! Int, ($0["offset"] as! Int) + ($0["length"] as! Int)) }
        ranges.sort { $0.0 < $1.0 }
        var cursor = 0
        for (start, end) in ranges {
            #expect(start == cursor, "gap or overlap at \(start)")
            cursor = end
        }
        #expect(cursor == 1_056_540)
    }

    @Test("inspect prints an aligned table and the byte accounting")
    func inspectText() throws {
        let r = try Fixtures.llmq("inspect", Fixtures.stories260K)
        #expect(r.status == 0)
        #expect(r.stdout.contains("llama2c v0"))
        #expect(r.stdout.contains("blk.4.ffn_up.weight"))
        #expect(r.stdout.contains("(all accounted for)"))
    }

    @Test("synth writes a deterministic checkpoint that inspect and run accept")
    func synth() throws {
        let dir = try Fixtures.scratch()
        for name in ["a", "b"] {
            let r = try Fixtures.llmq("synth", dir + "/\(name).bin", "--shape", "stories260K", "--layers", "2", "--seed", "5",
                                      "--tokenizer", dir + "/tok.bin")
            #expect(r.status == 0, "\(r.stderr)")
        }
        #expect(try Fixtures.read(dir + "/a.bin") == Fixtures.read(dir + "/b.bin"))
        #expect(try Fixtures.llmq("inspect", dir + "/a.bin").status == 0)
        let run = try Fixtures.llmq("run", dir + "/a.bin", "-z", dir + "/tok.bin", "-n", "20", "-s", "3")
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("bad input: one line naming the file, exit code 2, no crash",
          arguments: [("empty", [UInt8]()), ("short", [1, 2, 3]), ("zeros", [UInt8](repeating: 0, count: 64))])
    func badInput(name: String, bytes: [UInt8]) throws {
        let dir = try Fixtures.scratch()
        let path = dir + "/\(name).bin"
        try Fixtures.write(bytes, to: path)
        for args in [["inspect", path], ["run", path, "-z", Fixtures.tok512]] {
            let r = try Fixtures.llmq(args)
            #expect(r.status == 2)
            #expect(r.stderr.hasPrefix("llmq: error: \(path):"))
            #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        }
    }

    @Test("run and inspect take a Hugging Face directory Python wrote; run prints run.c's greedy story")
    func huggingFaceDirectory() throws {
        let dir = try Fixtures.scratch() + "/hf"
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/hf_numpy.py").path
        let export = try Fixtures.run("/usr/bin/env", ["python3", script, "export", Fixtures.stories260K, dir, "--shard-bytes", "400000"])
        #expect(export.status == 0, "\(export.stderr)")
        let r = try Fixtures.llmq("run", dir, "-z", Fixtures.tok512, "-t", "0", "-n", "256")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try String(contentsOfFile: Fixtures.golden("run/stories260K.t0.n256.txt"), encoding: .utf8)))
        let inspect = try Fixtures.llmq("inspect", dir)
        #expect(inspect.stdout.contains("safetensors (Hugging Face Llama, 3 shards)"))
        #expect(inspect.stdout.contains("rope-permuted"))
        #expect(inspect.stdout.contains("(all accounted for)"))
    }

    @Test("bad safetensors files: one line naming the file and the problem, exit code 2", arguments: [
        ("huge", [UInt8](repeating: 0xFF, count: 8) + Array("{}".utf8), "exceeds the limit"),
        ("overlap", [105, 0, 0, 0, 0, 0, 0, 0] + Array(#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#.utf8) + [7],
         "tensor 'b': offset 113: bytes 0..<1 overlap tensor 'a'"),
        ("past", [53, 0, 0, 0, 0, 0, 0, 0] + Array(#"{"a":{"dtype":"U8","shape":[9],"data_offsets":[0,9]}}"#.utf8) + [7],
         "tensor 'a': data_offsets [0, 9] run past the end"),
    ])
    func badSafetensors(name: String, bytes: [UInt8], message: String) throws {
        let path = try Fixtures.scratch() + "/\(name).safetensors"
        try Fixtures.write(bytes, to: path)
        let r = try Fixtures.llmq("inspect", path)
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("llmq: error: \(path): "), "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test("a missing file and a tokenizer of the wrong size are reported")
    func missingAndMismatched() throws {
        let missing = try Fixtures.llmq("inspect", "/nonexistent/model.bin")
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent/model.bin"))
        let dir = try Fixtures.scratch()
        _ = try Fixtures.llmq("synth", dir + "/m.bin", "--vocab", "600", "--layers", "1", "--tokenizer", dir + "/t600.bin")
        let r = try Fixtures.llmq("run", Fixtures.stories260K, "-z", dir + "/t600.bin")
        #expect(r.status == 2)
        #expect(r.stderr.contains("600 tokens"))
    }
}
