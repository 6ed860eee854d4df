import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

/// stories260K quantized through the quantizer's view and run on the integer kernels.
@Suite("Quantized models generate text")
struct QuantizedGenerationTests {
    static func greedy(_ type: String) throws -> (text: String, weights: TransformerWeights) {
        let source = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
        let view = try Quantizer.view(of: source, plan: try QuantizationRecipe(type: type).plan(for: source))
        let weights = try TransformerWeights(model: view)
        let transformer = Transformer(weights: weights)
        var sampler = Sampler(vocabSize: view.config.vocabSize, temperature: 0, topP: 0.9, seed: 1)
        var bytes: [UInt8] = []
        _ = Generation.run(transformer: transformer, tokenizer: try Tokenizers.make(view.tokenizer!), sampler: &sampler,
                           prompt: "", steps: 256) { bytes += $0 }
        return (String(decoding: bytes, as: UTF8.self), weights)
    }

    static func sentences(_ text: String, _ n: Int) -> String {
        var count = 0
        var end = text.startIndex
        for i in text.indices where text[i] == "." {
            count += 1
            end = text.index(after: i)
            if count == n { break }
        }
        return String(text[..<end])
    }

    @Test("q8_0 keeps the weights native and agrees with the fp32 greedy text for at least two sentences")
    func q8() throws {
        let (text, weights) = try Self.greedy("q8_0")
        #expect(weights.layers[0].wq.dtype == .q8_0 && weights.classifier.dtype == .q8_0)
        #expect(weights.layers[0].down.dtype == .f16, "rows of 172 fall back to f16")
        let golden = try String(contentsOfFile: Fixtures.golden("run/stories260K.t0.n256.txt"), encoding: .utf8)
        let prefix = Self.sentences(golden, 2)
        #expect(prefix.hasSuffix("in the park."))
        #expect(text.hasPrefix(prefix), "q8_0: \(text)")
    }

    @Test("q4_0 and q4_1 write fluent English", arguments: ["q4_0", "q4_1"])
    func q4(type: String) throws {
        let (text, weights) = try Self.greedy(type)
        #expect(weights.layers[2].gate.dtype == DType(name: type))
        #expect(text.hasPrefix("Once upon a time"), "\(type): \(text)")
        // Fluency, crudely: nearly every word is made of letters and is one the fp32 model's
        // text or the TinyStories sample uses.
        let corpus = try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8)
        let vocabulary = Set(corpus.lowercased().split { !$0.isLetter }.map(String.init))
        let words = text.lowercased().split { !$0.isLetter }.map(String.init)
        let known = words.filter(vocabulary.contains).count
        #expect(words.count > 40, "a story, not a few words")
        #expect(Double(known) / Double(words.count) > 0.95, "\(type): \(known)/\(words.count) known words in: \(text)")
    }
}
