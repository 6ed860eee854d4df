import Foundation
import LLMQTestSupport
import Testing

/// Outputs that depend only on the input and the request, and defaults that run on a short text.
@Suite("reproducible outputs, runnable defaults")
struct ReproducibleCLITests {
    @Test("quantize writes the same bytes with 1 and 2 threads: .q4 and .gguf, plain, with --imatrix and with --gptq")
    func threadCountDoesNotChangeBytes() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let imatrix = dir + "/s.imatrix"
        let c = try Fixtures.llmq("calibrate", Fixtures.stories260K, "-z", Fixtures.tok512, "--text", Fixtures.tinyStories,
                                  "--ctx", "128", "--chunks", "2", "-o", imatrix)
        try #require(c.status == 0, "\(c.stderr)")
        for output in ["m.q4", "m.gguf"] {
            for extra in [[], ["--imatrix", imatrix], ["--gptq", Fixtures.tinyStories, "--gptq-chunks", "2", "--gptq-ctx", "128"]] {
                var files: [[UInt8]] = []
                for threads in ["1", "2"] {
                    let path = dir + "/t\(threads)-" + output
                    let q = try Fixtures.llmq(["quantize", Fixtures.stories260K, path, "-z", Fixtures.tok512, "--type", "q4_0",
                                               "--threads", threads] + extra)
                    try #require(q.status == 0, "\(q.stderr)")
                    files.append(try Fixtures.read(path))
                }
                let identical = files[0] == files[1]
                #expect(identical, "\(output) \(extra): the 1- and 2-thread files differ")
            }
        }
    }

    @Test("perplexity and verify score 512-token chunks by default, or the model's context when shorter, and say so in --help")
    func defaultContext() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (context, expected) in [(2048, 512), (256, 256)] {
            let model = dir + "/c\(context).bin"
            let synth = try Fixtures.llmq("synth", model, "--layers", "1", "--context", String(context), "--tokenizer", dir + "/tokenizer.bin")
            try #require(synth.status == 0, "\(synth.stderr)")
            let p = try Fixtures.llmq("perplexity", model, "--text", Fixtures.tinyStories, "--chunks", "1", "--json")
            try #require(p.status == 0, "\(p.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(p.stdout.utf8)) as? [String: Any])
            let plan = try #require((json["result"] as? [String: Any])?["plan"] as? [String: Any])
            #expect(plan["contextLength"] as? Int == expected)
            let v = try Fixtures.llmq("verify", model, model, "--text", Fixtures.tinyStories, "--chunks", "1", "--json")
            try #require(v.status == 0, "\(v.stderr)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any])
            #expect((report["plan"] as? [String: Any])?["contextLength"] as? Int == expected)
        }
        for command in ["perplexity", "verify"] {
            let help = try Fixtures.llmq(command, "--help")
            #expect(help.stdout.contains("default: 512"), "\(help.stdout)")
        }
    }
}
