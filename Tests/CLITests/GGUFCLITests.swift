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

/// SmolLM2-135M-Instruct (Q4_1 + Q8_0 GGUF, GPT-2 BPE): a real model end to end. Opt-in with
/// LLMQ_SMOLLM2=1 (scripts/fetch-smollm2 downloads it once).
@Suite("SmolLM2 on the command line", .smolLM2)
struct SmolLM2CLITests {
    @Test("inspect shows its config, tokenizer and quantization with every byte accounted for")
    func inspect() throws {
        let r = try Fixtures.llmq("inspect", try Fixtures.smolLM2())
        #expect(r.status == 0, "\(r.stderr)")
        for text in ["gguf v3", "dim 576, hidden 1536, layers 30, heads 9 (kv 3), head dim 64, vocab 49152, context 8192",
                     "rope base 100000.0", "classifier shared with embedding", "tokenizer: gpt2, 49152 tokens, 48900 merges",
                     "tokenizer.ggml.pre = \"smollm\"", "q4_1", "q8_0", "(all accounted for)"] {
            #expect(r.stdout.contains(text), "\(text)")
        }
    }

    @Test("run greedily completes 'The capital of France is' with Paris")
    func capitalOfFrance() throws {
        let r = try Fixtures.llmq("run", try Fixtures.smolLM2(), "-t", "0", "-n", "24", "-i", "The capital of France is")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("The capital of France is Paris."), "\(r.stdout)")
        #expect(r.stderr.contains("achieved tok/s:"))
    }

    @Test("a chat prompt (BOS tokens inside it, control tokens silent) is answered")
    func chat() throws {
        let prompt = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
        let r = try Fixtures.llmq("run", try Fixtures.smolLM2(), "-t", "0", "-n", "64", "-i", prompt)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("user\nWhat is the capital of France?\nassistant\n"), "\(r.stdout)")
        #expect(r.stdout.contains("Paris"), "\(r.stdout)")
    }
}
