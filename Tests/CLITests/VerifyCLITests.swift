import Foundation
import LLMQTestSupport
import Testing

/// `llmq perplexity` and `llmq verify` as a CI job runs them: output, JSON, exit codes.
@Suite("llmq perplexity and verify")
struct VerifyCLITests {
    static let text = ["--text", Fixtures.tinyStories]
    static let small = ["--ctx", "128", "--chunks", "4"]

    /// stories260K.bin with one tensor's bytes zeroed, located through `inspect --json`.
    static func damagedCopy(zeroing name: String) throws -> String {
        let r = try Fixtures.llmq("inspect", Fixtures.stories260K, "--json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let tensor = try #require((json["tensors"] as? [[String: Any]])?.first { $0["name"] as? String == name })
        var bytes = try Fixtures.read(Fixtures.stories260K)
        for i in (tensor["offset"] as! Int)..<(tensor["end"] as! Int) { bytes[i] = 0 }
        let path = try Fixtures.scratch() + "/damaged.bin"
        try Fixtures.write(bytes, to: path)
        return path
    }

    @Test("perplexity prints PPL ± error, the protocol, the token count and tokens/s; --json has the same")
    func perplexity() throws {
        let r = try Fixtures.llmq(["perplexity", Fixtures.stories260K, "-z", Fixtures.tok512] + Self.text + Self.small)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("PPL = ") && r.stdout.contains(" ± "))
        #expect(r.stdout.contains("second half of each chunk scored"))
        #expect(r.stdout.contains("100708 tokens") && r.stdout.contains("tokens/s"))
        let j = try Fixtures.llmq(["perplexity", Fixtures.stories260K, "-z", Fixtures.tok512, "--json", "--score-all"] + Self.text + Self.small)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        let result = try #require(json["result"] as? [String: Any])
        #expect(result["scoredTokens"] as? Int == 4 * 127)
        #expect(((result["perplexity"] as? [String: Double])?["value"] ?? 0) > 1)
    }

    @Test("identical models pass every gate with KLD 0 and 100 % top-1")
    func identicalPasses() throws {
        let r = try Fixtures.llmq(["verify", Fixtures.stories260K, Fixtures.stories260K, "-z", Fixtures.tok512] + Self.text + Self.small
                                  + ["--max-kld", "0", "--max-ppl-increase", "0", "--min-top1", "100"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("KLD mean        0.000000"))
        #expect(r.stdout.contains("same top-1     100.000 %"))
        #expect(r.stdout.contains("weights: every tensor is identical"))
        #expect(r.stdout.hasSuffix("result: PASS\n"))
    }

    @Test("a candidate with a zeroed tensor fails with exit 1, naming each gate with measured value and threshold")
    func damagedFails() throws {
        let damaged = try Self.damagedCopy(zeroing: "blk.1.attn_q.weight")
        let r = try Fixtures.llmq(["verify", Fixtures.stories260K, damaged, "-z", Fixtures.tok512] + Self.text + Self.small
                                  + ["--max-kld", "0.01", "--min-top1", "90"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("quality gate failed: mean KLD = "))
        #expect(r.stderr.contains("(must be ≤ 0.010000): FAIL"))
        #expect(r.stdout.contains("blk.1.attn_q.weight"))
        #expect(r.stdout.hasSuffix("result: FAIL\n"))
        let j = try Fixtures.llmq(["verify", Fixtures.stories260K, damaged, "-z", Fixtures.tok512, "--json", "--max-kld", "0.01"]
                                  + Self.text + Self.small)
        #expect(j.status == 1)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        #expect(json["passed"] as? Bool == false)
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        #expect(tensors.first?["name"] as? String == "blk.1.attn_q.weight")
    }

    @Test("quantized containers from llmq quantize: q8_0 passes strict gates, q4_0 fails them with exit 1")
    func quantizedContainers() throws {
        let dir = try Fixtures.scratch()
        for (out, type) in [("m.q8", "q8_0"), ("m.q4", "q4_0")] {
            let q = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/" + out, "--type", type, "-z", Fixtures.tok512)
            try #require(q.status == 0, "\(q.stderr)")
        }
        let gates = ["--max-kld", "0.005", "--min-top1", "95"]
        let q8 = try Fixtures.llmq(["verify", Fixtures.stories260K, dir + "/m.q8", "-z", Fixtures.tok512] + Self.text + Self.small + gates)
        #expect(q8.status == 0, "\(q8.stderr)")
        #expect(q8.stdout.contains("q8_0"))
        let q4 = try Fixtures.llmq(["verify", Fixtures.stories260K, dir + "/m.q4", "-z", Fixtures.tok512] + Self.text + Self.small + gates)
        #expect(q4.status == 1 && q4.stderr.contains("mean KLD = "), "\(q4.stderr)")
    }

    /// q5_0 with `--preset pure` (the classifier too), written as a container and as GGUF: both
    /// check, run through the q5_0 kernel, and land between q4_0 and q8_0 in mean KL divergence.
    @Test("q5_0 containers and GGUF files run, and their divergence sits between q4_0's and q8_0's")
    func q5_0() throws {
        let dir = try Fixtures.scratch()
        var kld: [String: Double] = [:]
        for (out, type) in [("m.q8", "q8_0"), ("m5.q4", "q5_0"), ("m5.gguf", "q5_0"), ("m.q4", "q4_0")] {
            let q = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/" + out, "--type", type, "--preset", "pure", "-z", Fixtures.tok512)
            try #require(q.status == 0, "\(q.stderr)")
            if !out.hasSuffix(".gguf") { #expect(try Fixtures.llmq("inspect", dir + "/" + out, "--check").status == 0) }
            let v = try Fixtures.llmq(["verify", Fixtures.stories260K, dir + "/" + out, "-z", Fixtures.tok512, "--json"] + Self.text + Self.small)
            try #require(v.status == 0, "\(v.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any])
            let comparison = try #require(json["comparison"] as? [String: Any])
            kld[out] = try #require(((comparison["kld"] as? [String: Any])?["mean"] as? [String: Any])?["value"] as? Double)
        }
        #expect(kld["m.q8"]! < kld["m5.q4"]! && kld["m5.q4"]! < kld["m.q4"]!, "\(kld)")
        // The same bytes in either file: the same logits.
        #expect(kld["m5.q4"] == kld["m5.gguf"], "\(kld)")
    }

    @Test("a saved reference verifies later without the reference model, with the same figures")
    func savedReference() throws {
        let dir = try Fixtures.scratch()
        let saved = dir + "/stories260K.llmqref"
        let live = try Fixtures.llmq(["verify", Fixtures.stories260K, Fixtures.stories260K, "-z", Fixtures.tok512, "--save-reference", saved]
                                     + Self.text + Self.small)
        #expect(live.status == 0, "\(live.stderr)")
        let later = try Fixtures.llmq("verify", saved, Fixtures.stories260K, "-z", Fixtures.tok512, "--max-kld", "0", "--min-top1", "100")
        #expect(later.status == 0, "\(later.stderr)")
        func line(_ s: String, _ prefix: String) -> String? { s.split(separator: "\n").first { $0.hasPrefix(prefix) }.map(String.init) }
        for metric in ["PPL reference", "PPL candidate", "same top-1", "KLD mean"] {
            #expect(line(live.stdout, metric) != nil && line(live.stdout, metric) == line(later.stdout, metric))
        }
        #expect(later.stdout.contains("saved reference logits of"))
        let conflicting = try Fixtures.llmq("verify", saved, Fixtures.stories260K, "-z", Fixtures.tok512, "--ctx", "256")
        #expect(conflicting.status == 2 && conflicting.stderr.contains("was saved with --ctx 128"))
    }

    @Test("a saved reference that keeps too few tokens to bound its tails says so, in the text and the JSON")
    func uncoveredTailWarning() throws {
        let dir = try Fixtures.scratch()
        let saved = dir + "/narrow.llmqref"
        let save = try Fixtures.llmq(["verify", Fixtures.stories260K, Fixtures.stories260K, "-z", Fixtures.tok512, "--save-reference", saved,
                                      "--reference-max-kept", "8"] + Self.text + Self.small)
        #expect(save.status == 0, "\(save.stderr)")
        #expect(!save.stdout.contains("warning:"), "a live comparison is exact")
        let text = try Fixtures.llmq("verify", saved, Fixtures.stories260K, "-z", Fixtures.tok512)
        let warning = try #require(text.stdout.split(separator: "\n").first { $0.hasPrefix("warning: at ") }, "\(text.stdout)")
        #expect(warning.contains("of 252 positions") && warning.contains("more than 0.0001") && warning.contains("whatever the tail holds"))
        let json = try Fixtures.llmq("verify", saved, Fixtures.stories260K, "-z", Fixtures.tok512, "--json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let tail = try #require((report["comparison"] as? [String: Any])?["uncoveredTail"] as? [String: Any], "\(json.stdout)")
        let positions = try #require(tail["positions"] as? Int)
        #expect(positions > 0 && positions <= 252 && warning.contains("at \(positions) of 252"))
        #expect((tail["worstTailMass"] as? Double ?? 0) > 1e-4 && tail["sampleRate"] as? Int == 65536 && tail["fileVersion"] as? Int == 2)
        #expect((tail["meanKLDErrorBound"] as? Double).map { $0 > 0 } == true && tail["meanKLDSampleError"] is Double)
        // Kept in full, nothing is uncovered and nothing is said.
        let full = dir + "/full.llmqref"
        #expect(try Fixtures.llmq(["verify", Fixtures.stories260K, Fixtures.stories260K, "-z", Fixtures.tok512, "--save-reference", full]
                                  + Self.text + Self.small).status == 0)
        let quiet = try Fixtures.llmq("verify", full, Fixtures.stories260K, "-z", Fixtures.tok512, "--json")
        let quietReport = try #require(try JSONSerialization.jsonObject(with: Data(quiet.stdout.utf8)) as? [String: Any])
        #expect((quietReport["comparison"] as? [String: Any])?.keys.contains("uncoveredTail") == false)
    }

    @Test("usage errors exit 2: no text, a missing text file, models with different tokenizers")
    func usageErrors() throws {
        let noText = try Fixtures.llmq("verify", Fixtures.stories260K, Fixtures.stories260K, "-z", Fixtures.tok512)
        #expect(noText.status == 2 && noText.stderr.contains("--text"))
        let missing = try Fixtures.llmq("perplexity", Fixtures.stories260K, "-z", Fixtures.tok512, "--text", "/nonexistent.txt")
        #expect(missing.status == 2 && missing.stderr.contains("/nonexistent.txt"))
        // Each model finds its own tokenizer.bin beside it: stories260K's, and a synthetic one of the same size.
        let dir = try Fixtures.scratch()
        for sub in ["a", "b"] { try FileManager.default.createDirectory(atPath: "\(dir)/\(sub)", withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: Fixtures.stories260K, toPath: dir + "/a/model.bin")
        try FileManager.default.copyItem(atPath: Fixtures.tok512, toPath: dir + "/a/tokenizer.bin")
        let synth = try Fixtures.llmq("synth", dir + "/b/model.bin", "--layers", "1", "--tokenizer", dir + "/b/tokenizer.bin")
        try #require(synth.status == 0)
        let r = try Fixtures.llmq(["verify", dir + "/a/model.bin", dir + "/b/model.bin"] + Self.text + Self.small)
        #expect(r.status == 2 && r.stderr.contains("different tokenizers"), "\(r.stderr)")
    }
}
