import Foundation
import LLMQ
import LLMQTestSupport
import Testing

/// GPTQ's layer-by-layer walk (one layer's second moments in memory at a time) against every
/// layer's at once: the same forward pass cut differently, so the same bytes.
@Suite("GPTQ layer by layer")
struct LayerwiseGPTQTests {
    /// The file `quantize` writes with GPTQ over `chunks` chunks of `context` tokens.
    static func quantized(_ input: String, tokenizer: String?, _ output: String, layerByLayer: Bool, chunks: Int,
                          context: Int) throws -> (bytes: Data, events: [ProgressEvent]) {
        var request = QuantizeRequest(input: input, output: output, type: .q4_0)
        request.tokenizer = tokenizer
        request.gptq = GPTQSettings(text: .file(Fixtures.tinyStories), chunks: chunks, contextLength: context, layerByLayer: layerByLayer)
        let events = Locked<[ProgressEvent]>([])
        _ = try LLMQ.quantize(request) { event in events.withLock { $0.append(event) } }
        return (try Data(contentsOf: URL(fileURLWithPath: output)), events.withLock { $0 })
    }

    @Test("stories260K: the same .gguf (tied classifier first: the walk starts again) and .q4 bytes as every layer at once",
          arguments: ["gguf", "q4"])
    func stories260K(format: String) throws {
        let dir = try Fixtures.scratch()
        let walked = try Self.quantized(Fixtures.stories260K, tokenizer: Fixtures.tok512, dir + "/walk." + format, layerByLayer: true,
                                        chunks: 3, context: 128)
        let atOnce = try Self.quantized(Fixtures.stories260K, tokenizer: Fixtures.tok512, dir + "/once." + format, layerByLayer: false,
                                        chunks: 3, context: 128)
        #expect(walked.bytes == atOnce.bytes)
        // 4 distinct inputs per layer and the classifier's, each factored once.
        let factored = walked.events.filter { $0.phase == .gptqFactor }
        #expect(factored.map(\.done) == Array(1...(4 * 5 + 1)))
        #expect(walked.events.contains { $0.phase == .gptqCollect })
    }

    @Test("SmolLM2-135M: the same .gguf bytes as every layer at once", .smolLM2)
    func smolLM2() throws {
        let dir = try Fixtures.scratch()
        let model = try Fixtures.smolLM2()
        let walked = try Self.quantized(model, tokenizer: nil, dir + "/walk.gguf", layerByLayer: true, chunks: 2, context: 256)
        let atOnce = try Self.quantized(model, tokenizer: nil, dir + "/once.gguf", layerByLayer: false, chunks: 2, context: 256)
        #expect(walked.bytes == atOnce.bytes)
    }
}
