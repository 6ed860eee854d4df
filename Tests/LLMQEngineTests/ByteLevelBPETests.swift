import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import Testing

@Suite("Byte-level BPE tokenizer")
struct ByteLevelBPETests {
    /// A tiny GPT-2 style vocabulary: the 256 byte characters, a few merges, two control tokens.
    static func tinyVocabulary(pre: String? = "smollm") -> TokenizerData {
        var pieces: [[UInt8]] = [Array("<|endoftext|>".utf8), Array("<|im_start|>".utf8)]
        let chars = (0..<256).map { String(Unicode.Scalar(byteCharacter($0))!) }
        pieces += chars.map { Array($0.utf8) }
        let merges = ["Ġ t", "h e", "Ġt he", "i s", "Ġ is", "1 2"]
        pieces += [Array("Ġt".utf8), Array("he".utf8), Array("Ġthe".utf8), Array("is".utf8), Array("Ġis".utf8), Array("12".utf8)]
        var types = [Int32](repeating: 1, count: pieces.count)
        types[0] = 3
        types[1] = 3
        return TokenizerData(kind: .byteLevelBPE, pieces: pieces, scores: [], tokenTypes: types, merges: merges,
                             bosID: 1, eosID: 0, unknownID: nil, addBOS: false, preTokenizer: pre)
    }

    /// GPT-2's byte → character table, written out independently of the tokenizer's.
    static func byteCharacter(_ b: Int) -> UInt32 {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        if printable.contains(b) { return UInt32(b) }
        return UInt32(256 + (0..<b).filter { !printable.contains($0) }.count)
    }

    func id(_ t: TokenizerData, _ piece: String) -> Int { t.pieces.firstIndex(of: Array(piece.utf8))! }

    @Test("merges by rank inside words; specials are cut out first; control tokens decode to nothing")
    func tinyVocabulary() throws {
        let data = Self.tinyVocabulary()
        let t = try ByteLevelBPETokenizer(data)
        let ids = t.encode("<|im_start|>is the 12", bos: true, eos: false)
        // No BOS (add_bos_token false); "12" is two words under the smollm rule, so "1 2" never merges.
        #expect(ids == [1, id(data, "is"), id(data, "Ġthe"), id(data, "Ġ"), id(data, "1"), id(data, "2")])
        let gpt2 = try ByteLevelBPETokenizer(Self.tinyVocabulary(pre: "gpt-2"))
        #expect(gpt2.encode("12", bos: false, eos: false) == [id(data, "12")])
        #expect(t.decode(previous: 0, token: 1).isEmpty)
        var text: [UInt8] = []
        for id in t.encode("naïve\tcafé\n 🙂", bos: false, eos: false) { text += t.decode(previous: 0, token: id) }
        #expect(String(decoding: text, as: UTF8.self) == "naïve\tcafé\n 🙂")
        #expect(throws: LLMQError.self) { try ByteLevelBPETokenizer(Self.tinyVocabulary(pre: "no-such-rule")) }
    }

    @Test("SmolLM2's vocabulary encodes as Hugging Face tokenizers does and decodes back to the text",
          .smolLM2)
    func smolLM2MatchesHuggingFace() throws {
        let path = try Fixtures.smolLM2()
        let model = try ModelFile.open(path)
        let tokenizer = try Tokenizers.make(try #require(model.tokenizer))
        let sample = try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8)
        var texts = ["The capital of France is", "Hello world! 123", "Café déjà vu.", "  multiple   spaces", "\n",
                     "<|im_start|>user\nHello<|im_end|>\n", "It's they're we've I'm you'll he'd", "x  \n\n  y\t\tz 3.14159 1,000,000",
                     "日本語のテキスト 🙂🚀 naïve", ""]
        texts.append(String(sample.prefix(20000)))
        let dir = try Fixtures.scratch()
        try JSONEncoder().encode(texts).write(to: URL(fileURLWithPath: dir + "/texts.json"))
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/hf_bpe_tokenize.py").path
        let r = try Fixtures.run("/usr/bin/env", ["python3", script, path, dir + "/texts.json", dir + "/ids.json"])
        try #require(r.status == 0, "\(r.stderr)")
        let expected = try JSONDecoder().decode([[Int]].self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/ids.json")))
        #expect(expected[0] == [504, 3575, 282, 4649, 314])
        for (text, reference) in zip(texts, expected) {
            let ids = tokenizer.encode(text, bos: true, eos: false)
            #expect(ids == reference, "\(text.prefix(40))")
            let plain = !text.contains("<|")
            if plain {
                var bytes: [UInt8] = []
                for id in ids { bytes += tokenizer.decode(previous: 0, token: id) }
                #expect(String(decoding: bytes, as: UTF8.self) == text)
            }
        }
    }
}
