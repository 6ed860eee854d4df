import LLMQCore
import LLMQEngine
import Testing

/// Vocabularies a file may carry that the tokenizers must refuse or handle without producing an id
/// outside the vocabulary (the forward pass indexes the embedding with every id encode returns).
/// Each case is a crash the fuzzers found (docs/reliability.md).
@Suite("Tokenizers from hostile vocabularies")
struct HostileTokenizerTests {
    static let texts = ["Once upon a time", "héllo wörld 日本 🙂", "\u{0}\u{7F}"]

    func expectIDsInRange(_ data: TokenizerData, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let tokenizer = try Tokenizers.make(data)
        for text in Self.texts {
            let ids = tokenizer.encode(text, bos: true, eos: true)
            #expect(ids.allSatisfy { (0..<data.count).contains($0) }, "\(text): \(ids)", sourceLocation: sourceLocation)
            for id in ids { _ = tokenizer.decode(previous: tokenizer.bosID, token: id) }
        }
    }

    @Test("a three-token llama2.c vocabulary: bytes it cannot spell become <unk>, not byte + 3")
    func tinySentencePiece() throws {
        let data = TokenizerData(kind: .sentencePiece, pieces: [Array("<unk>".utf8), Array("\n<s>\n".utf8), Array("\n</s>\n".utf8)],
                                 scores: [0, 0, 0])
        try expectIDsInRange(data)
        let ids = try Tokenizers.make(data).encode("ab", bos: false, eos: false)
        #expect(ids == [0, 0], "a and b fall back to <unk> (0); there is no space piece to prepend")
    }

    @Test("without an unknown token, unspellable bytes are dropped")
    func noUnknown() throws {
        var data = TokenizerData(kind: .sentencePiece, pieces: [Array("a".utf8), Array("<s>".utf8), Array("</s>".utf8)],
                                 scores: [0, 0, 0])
        data.unknownID = nil
        try expectIDsInRange(data)
        #expect(try Tokenizers.make(data).encode("xa", bos: false, eos: false) == [0])
    }

    @Test("BOS or EOS outside the vocabulary is refused", arguments: [(5, 2), (1, -1), (1, 3)])
    func specialOutOfRange(ids: (bos: Int, eos: Int)) throws {
        for kind in [TokenizerData.Kind.sentencePiece, .byteLevelBPE] {
            let data = TokenizerData(kind: kind, pieces: [Array("a".utf8), Array("b".utf8), Array("c".utf8)], scores: [0, 0, 0],
                                     bosID: ids.bos, eosID: ids.eos, preTokenizer: kind == .byteLevelBPE ? "gpt-2" : nil)
            #expect(throws: LLMQError.self) { try Tokenizers.make(data) }
        }
    }
}
