import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import Testing

/// A model converted to a Hugging Face directory must generate what the llama2.c original does.
@Suite("generation from safetensors")
struct SafetensorsGenerationTests {
    @Test("an HF directory llmq wrote, sharded or not, generates run.c's golden greedy text with its embedded tokenizer",
          arguments: [nil, 300_000] as [Int?])
    func greedyFromDirectory(maxShardBytes: Int?) throws {
        let dir = try Fixtures.scratch() + "/hf"
        let original = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
        try HFDirectory.write(original, to: dir, maxShardBytes: maxShardBytes)
        let model = try ModelFile.open(dir)
        let vocabulary = try #require(model.tokenizer)
        let tokenizer = try Tokenizers.make(vocabulary)
        let transformer = try Transformer(model: model)
        var sampler = Sampler(vocabSize: model.config.vocabSize, temperature: 0, topP: 0.9, seed: 1)
        var bytes: [UInt8] = []
        _ = Generation.run(transformer: transformer, tokenizer: tokenizer, sampler: &sampler, prompt: "", steps: 256) { piece in
            if piece.count == 1, !(0x20...0x7E).contains(piece[0]), !(0x09...0x0D).contains(piece[0]) { return }
            bytes += piece
        }
        let golden = try String(contentsOfFile: Fixtures.golden("run/stories260K.t0.n256.txt"), encoding: .utf8)
        #expect(String(decoding: bytes, as: UTF8.self) + "\n" == golden)
    }
}
