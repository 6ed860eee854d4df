import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import Testing

/// stories260K.gguf, run with its own embedded vocabulary, must write llama2.c's text for
/// stories260K.bin with tok512.bin.
@Suite("GGUF generation")
struct GGUFGenerationTests {
    @Test("greedy and seeded 256-token texts from stories260K.gguf equal the .bin's golden texts")
    func sameTextAsBin() throws {
        let greedy = try GenerationTests.generate(Fixtures.stories260KGGUF, temperature: 0, tokenizer: nil)
        #expect(greedy == (try String(contentsOfFile: Fixtures.golden("run/stories260K.t0.n256.txt"), encoding: .utf8)))
        let seeded = try GenerationTests.generate(Fixtures.stories260KGGUF, temperature: 1, topP: 0.9, seed: 133742, tokenizer: nil)
        #expect(seeded == (try String(contentsOfFile: Fixtures.golden("run/stories260K.t1.p0.9.s133742.n256.txt"), encoding: .utf8)))
    }

    @Test("the GGUF vocabulary encodes text as tok512.bin does")
    func sameTokens() throws {
        let gguf = try Tokenizers.make(try #require(try ModelFile.open(Fixtures.stories260KGGUF).tokenizer))
        let bin = try Tokenizers.make(try Llama2CTokenizerFile.read(path: Fixtures.tok512))
        let sample = String(try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8).prefix(20000))
        for text in ["", "Once upon a time", "naïve café — 日本語 🙂", sample] {
            #expect(gguf.encode(text, bos: true, eos: true) == bin.encode(text, bos: true, eos: true))
        }
    }
}
