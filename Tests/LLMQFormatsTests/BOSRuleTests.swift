import Foundation
import LLMQCore
import LLMQFormats
import LLMQTestSupport
import Testing

/// Whether a vocabulary starts a text with BOS, per format, as llama.cpp and transformers decide
/// it: what `perplexity`, `verify`, `calibrate` and GPTQ tokenize and chunk by.
@Suite("the add-BOS rule of each format")
struct BOSRuleTests {
    /// A GGUF file of `GGUFTests.mixedModel()` with `tokenizer`, its add-BOS key renamed away when `absent`.
    static func gguf(_ tokenizer: TokenizerData, absent: Bool = false) throws -> TokenizerData? {
        let path = try Fixtures.scratch() + "/m.gguf"
        let model = try GGUFTests.mixedModel()
        model.tokenizer = tokenizer
        try GGUFWriter.write(model, to: path)
        if absent {
            // Same length, so every offset stays: the reader sees a key it does not know instead.
            let key = Array("tokenizer.ggml.add_bos_token".utf8), other = Array("tokenizer.ggml.xxx_bos_token".utf8)
            var bytes = try Fixtures.read(path)
            let at = try #require((0...(bytes.count - key.count)).first { bytes[$0..<($0 + key.count)].elementsEqual(key) })
            bytes.replaceSubrange(at..<(at + key.count), with: other)
            try Fixtures.write(bytes, to: path)
        }
        return try ModelFile.open(path).tokenizer
    }

    static func vocabulary(_ kind: TokenizerData.Kind, addBOS: Bool, pre: String? = nil) -> TokenizerData {
        let pieces = (0..<300).map { Array("t\($0)".utf8) }
        return TokenizerData(kind: kind, pieces: pieces, scores: [Float](repeating: 0, count: 300), bosID: 1, eosID: 2, unknownID: 0,
                             addBOS: addBOS, preTokenizer: pre)
    }

    @Test("GGUF: tokenizer.ggml.add_bos_token true or false is taken as written")
    func ggufExplicit() throws {
        for kind in [TokenizerData.Kind.sentencePiece, .byteLevelBPE] {
            for add in [true, false] {
                #expect(try Self.gguf(Self.vocabulary(kind, addBOS: add, pre: kind == .byteLevelBPE ? "smollm" : nil))?.addBOS == add)
            }
        }
    }

    @Test("GGUF without the key: llama.cpp's default — SentencePiece adds BOS, GPT-2 BPE only under Llama-3-like pre-tokenizers")
    func ggufAbsent() throws {
        #expect(try Self.gguf(Self.vocabulary(.sentencePiece, addBOS: false), absent: true)?.addBOS == true)
        #expect(try Self.gguf(Self.vocabulary(.byteLevelBPE, addBOS: true, pre: "smollm"), absent: true)?.addBOS == false)
        #expect(try Self.gguf(Self.vocabulary(.byteLevelBPE, addBOS: true), absent: true)?.addBOS == false)   // written as gpt-2
        #expect(try Self.gguf(Self.vocabulary(.byteLevelBPE, addBOS: false, pre: "llama-bpe"), absent: true)?.addBOS == true)
    }

    @Test("stories260K.gguf (a llama vocabulary) and llama2.c's tokenizer.bin add BOS, as run.c always does")
    func sentencePieceFiles() throws {
        #expect(try ModelFile.open(Fixtures.stories260KGGUF).tokenizer?.addBOS == true)
        #expect(try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512).tokenizer?.addBOS == true)
        #expect(try Llama2CTokenizerFile.read(path: Fixtures.tok512).addBOS)
    }

    @Test("a Hugging Face directory: tokenizer_config.json's add_bos_token, else tokenizer.json's post-processor, else the vocabulary's own")
    func huggingFaceDirectory() throws {
        let dir = try Fixtures.scratch() + "/hf"
        try HFDirectory.write(try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512), to: dir)
        func addsBOS() throws -> Bool? { try ModelFile.open(dir).tokenizer?.addBOS }
        func put(_ name: String, _ json: String) throws { try json.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        #expect(try addsBOS() == true)
        try put("tokenizer_config.json", #"{"add_bos_token": false, "bos_token": "<s>"}"#)
        #expect(try addsBOS() == false)
        try put("tokenizer_config.json", #"{"add_bos_token": true}"#)
        #expect(try addsBOS() == true)
        // No add_bos_token (SmolLM2's config): tokenizer.json decides.
        try put("tokenizer_config.json", #"{"bos_token": "<|endoftext|>"}"#)
        try put("tokenizer.json", #"{"version": "1.0", "post_processor": {"type": "ByteLevel", "add_prefix_space": false}}"#)
        #expect(try addsBOS() == false)
        try put("tokenizer.json", #"""
            {"post_processor": {"type": "Sequence", "processors": [{"type": "ByteLevel"}, {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}]}]}}
            """#)
        #expect(try addsBOS() == true)
        try put("tokenizer.json", #"{"post_processor": null}"#)
        #expect(try addsBOS() == true)
        try put("tokenizer_config.json", #"{"add_bos_token": "yes"}"#)
        #expect(throws: LLMQError.self) { try addsBOS() }
    }
}
