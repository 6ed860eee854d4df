import Foundation
import LLMQ
import LLMQTestSupport
import Testing

/// SmolLM2's vocabulary adds no BOS (tokenizer.ggml.add_bos_token = false), so llama.cpp neither
/// starts the text with BOS nor puts BOS at chunk starts. On the f32 expansion (no activation
/// quantization to round differently) llmq's perplexity is llama.cpp's to every printed digit.
@Suite("SmolLM2 perplexity against llama.cpp", .enabled(if: Fixtures.smolLM2Enabled))
struct SmolLM2PerplexityTests {
    /// `llama-perplexity -m <f32 expansion> -f tinystories_sample.txt -c 512 --chunks 8 -ctk f32
    /// -ctv f32 -fa off` (llama.cpp from llama-cpp-python 0.3.36): f32 K/V cache and no flash
    /// attention, as llmq computes attention.
    static let llamaCpp = (perplexity: 6.9537, uncertainty: 0.33312)

    @Test("the f32 expansion of SmolLM2 scores llama.cpp's 6.9537 ± 0.3331 on 8 chunks of 512 tokens, no BOS anywhere")
    func f32MatchesLlamaCpp() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try LLMQ.convert(ConvertRequest(input: try Fixtures.smolLM2(), output: dir + "/f32.gguf", dequantize: true))
        var request = PerplexityRequest(model: dir + "/f32.gguf", text: .file(Fixtures.tinyStories))
        request.evaluation.maxChunks = 8
        let report = try LLMQ.perplexity(request)
        #expect(report.result.plan.contextLength == 512 && report.result.plan.bosID == nil)
        #expect(report.result.scoring.contains("no BOS"))
        let p = report.result.perplexity
        #expect(abs(p.value - Self.llamaCpp.perplexity) < 5e-5, "\(p.value)")
        #expect(abs(p.uncertainty - Self.llamaCpp.uncertainty) < 5e-5, "\(p.uncertainty)")
    }
}
