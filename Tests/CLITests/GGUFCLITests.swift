import Foundation
import LLMQTestSupport
import Testing

/// `llmq inspect` and `llmq run` on GGUF files, as a user types them.
@Suite("llmq command line on GGUF")
struct GGUFCLITests {
    @Test("run stories260K.gguf -t 0 prints the .bin's greedy story with the embedded vocabulary")
    func runGreedy() throws {
        let r = try Fixtures.llmq("run", Fixtures.stories260KGGUF, "-t", "0", "-n", "256")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try String(contentsOfFile: Fixtures.golden("run/stories260K.t0.n256.txt"), encoding: .utf8)))
    }

    @Test("inspect --json: every byte accounted for, metadata arrays summarised")
    func inspectJSON() throws {
        let r = try Fixtures.llmq("inspect", Fixtures.stories260KGGUF, "--json")
        #expect(r.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect((json["tensors"] as? [Any])?.count == 48)
        let totals = try #require(json["totals"] as? [String: Any])
        #expect(totals["accountedBytes"] as? Int == 1_185_376)
        let metadata = try #require(json["metadata"] as? [String: String])
        #expect(metadata["tokenizer.ggml.scores"]?.hasPrefix("[512 × f32]") == true)
        #expect(metadata["general.architecture"] == "\"llama\"")
    }

    @Test("a GGUF string length beyond the file: one line, exit 2", arguments: ["inspect", "run"])
    func hostile(command: String) throws {
        let dir = try Fixtures.scratch()
        var bytes = try Fixtures.read(Fixtures.stories260KGGUF)
        bytes.replaceSubrange(24..<32, with: withUnsafeBytes(of: UInt64(1) << 40) { Array($0) })
        try Fixtures.write(bytes, to: dir + "/bad.gguf")
        let r = try Fixtures.llmq(command, dir + "/bad.gguf")
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("llmq: error: \(dir)/bad.gguf: offset 24: "), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}
