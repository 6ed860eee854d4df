import Foundation
import LLMQTestSupport
import Testing

/// llama.cpp as the real client of what llmq writes, side by side on the same files: its
/// quantizer, its perplexity and its greedy decoding. Opt in with LLMQ_LLAMACPP=1 (`scripts/llama-cpp`
/// builds llama.cpp once into a cache, ~12 minutes on two cores).
@Suite("llama.cpp on llmq's files", .enabled(if: ProcessInfo.processInfo.environment["LLMQ_LLAMACPP"] == "1"))
struct LlamaCppCLITests {
    static let mixes = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L",
                        "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS"]

    static func bin() throws -> String {
        let r = try Fixtures.run(Fixtures.repoRoot.appendingPathComponent("scripts/llama-cpp").path, [])
        try #require(r.status == 0, "scripts/llama-cpp: \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// SHA-256 of every tensor's bytes and its type, as gguf-py reads them.
    static func tensorDigests(_ path: String) throws -> [String: String] {
        let r = try Fixtures.run("/usr/bin/env", ["python3", "-c", """
            import hashlib, json, sys
            from gguf import GGUFReader
            print(json.dumps({t.name: t.tensor_type.name + ":" + hashlib.sha256(t.data.tobytes()).hexdigest()
                              for t in GGUFReader(sys.argv[1]).tensors}))
            """, path])
        try #require(r.status == 0, "\(r.stderr)")
        return try JSONDecoder().decode([String: String].self, from: Data(r.stdout.utf8))
    }

    /// A stories15M-shaped random model: its 288-wide rows take llama.cpp's fallbacks, its 768-wide
    /// ffn_down rows the K-quants themselves.
    static func model(_ dir: String) throws -> String {
        #expect(try Fixtures.llmq("synth", dir + "/s15.bin", "--shape", "stories15M", "--tokenizer", dir + "/tok.bin").status == 0)
        #expect(try Fixtures.llmq("convert", dir + "/s15.bin", dir + "/s15.gguf", "-z", dir + "/tok.bin").status == 0)
        return dir + "/s15.gguf"
    }

    @Test("every mix llmq writes is llama-quantize's file, tensor for tensor", arguments: mixes)
    func mixBytes(mix: String) throws {
        let dir = try Fixtures.scratch(mix)
        let source = try Self.model(dir)
        let ours = try Fixtures.llmq("quantize", source, dir + "/llmq.gguf", "--type", mix)
        try #require(ours.status == 0, "\(ours.stderr)")
        let theirs = try Fixtures.run(try Self.bin() + "/llama-quantize", [source, dir + "/llama.gguf", mix])
        try #require(theirs.status == 0, "\(theirs.stderr)")
        let a = try Self.tensorDigests(dir + "/llmq.gguf"), b = try Self.tensorDigests(dir + "/llama.gguf")
        #expect(a.count == b.count)
        for (name, digest) in b.sorted(by: { $0.key < $1.key }) { #expect(a[name] == digest, "\(mix) \(name)") }
    }

    static func llamaPPL(_ bin: String, _ model: String, text: String, ctx: Int, chunks: Int) throws -> Double {
        let r = try Fixtures.run(bin + "/llama-perplexity", ["-m", model, "-f", text, "-c", "\(ctx)", "--chunks", "\(chunks)", "-t", "2"])
        try #require(r.status == 0, "\(r.stderr)")
        // llama.cpp logs from a thread of its own, and a loaded machine can lose the "Final estimate"
        // line at exit; the running estimate after the last chunk ("[40]4.4068,") is the same figure.
        let output = r.stdout + r.stderr
        let marker = output.range(of: "Final estimate: PPL = ") ?? output.range(of: "[\(chunks)]")
        return try #require(marker.flatMap { Double(output[$0.upperBound...].prefix { $0.isNumber || $0 == "." }) }, "\(output)")
    }

    static func llmqPPL(_ model: String, text: String, ctx: Int, chunks: Int) throws -> Double {
        let r = try Fixtures.llmq("perplexity", model, "--text", text, "--ctx", "\(ctx)", "--chunks", "\(chunks)", "--json")
        try #require(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let result = json["result"] as? [String: Any] ?? json
        return try #require((result["perplexity"] as? [String: Any])?["value"] as? Double)
    }

    /// stories260K (64 wide) is where the two engines' numerics differ most: its 4-bit files
    /// measured 0.1–0.2 % apart (llmq's kernels with fp32 weights sit between the two), q8_0 0.01 %.
    @Test("llama-perplexity on llmq's files equals llmq perplexity", arguments: [("q8_0", 5e-4), ("q4_0", 3e-3), ("Q4_K_M", 3e-3)])
    func perplexity(type: String, tolerance: Double) throws {
        let dir = try Fixtures.scratch(type)
        let file = dir + "/stories260K.gguf"
        try #require(try Fixtures.llmq("quantize", Fixtures.stories260K, file, "--type", type, "-z", Fixtures.tok512).status == 0)
        let theirs = try Self.llamaPPL(try Self.bin(), file, text: Fixtures.tinyStories, ctx: 128, chunks: 40)
        let ours = try Self.llmqPPL(file, text: Fixtures.tinyStories, ctx: 128, chunks: 40)
        #expect(abs(ours - theirs) / theirs < tolerance, "\(type): llmq \(ours), llama.cpp \(theirs)")
    }

    @Test("llama.cpp's greedy text on llmq's q8_0 file is llmq's")
    func greedy() throws {
        let dir = try Fixtures.scratch()
        let file = dir + "/stories260K.gguf"
        try #require(try Fixtures.llmq("quantize", Fixtures.stories260K, file, "--type", "q8_0", "-z", Fixtures.tok512).status == 0)
        let theirs = try Fixtures.run(try Self.bin() + "/llama-simple", ["-m", file, "-n", "60", "Once upon a time"])
        try #require(theirs.status == 0, "\(theirs.stderr)")
        let ours = try Fixtures.llmq("run", file, "-t", "0", "-n", "64", "-i", "Once upon a time")
        try #require(ours.status == 0, "\(ours.stderr)")
        // llama-simple prints the BOS piece and a space before the prompt; the texts are compared from the prompt on.
        let a = String(theirs.stdout[try #require(theirs.stdout.range(of: "Once upon a time")).lowerBound...])
        let b = ours.stdout
        let shorter = min(a.count, b.count)
        #expect(shorter > 150 && a.prefix(shorter) == b.prefix(shorter), "llama.cpp: \(a)\nllmq: \(b)")
    }
}
