import LLMQCore

/// Text ↔ token ids.
public protocol Tokenizer: Sendable {
    var vocabSize: Int { get }
    var bosID: Int { get }
    var eosID: Int { get }
    /// Whether the vocabulary starts a text with BOS (`TokenizerData.addBOS`, llama.cpp's
    /// `llama_vocab_get_add_bos`): SentencePiece models do, SmolLM2's GPT-2 vocabulary does not.
    var addsBOS: Bool { get }
    /// - Parameter bos: start with BOS when the vocabulary asks for it (`addsBOS`).
    func encode(_ text: String, bos: Bool, eos: Bool) -> [Int]
    /// The bytes `token` stands for when it follows `previous` (SentencePiece drops the leading
    /// space of the first piece after BOS).
    func decode(previous: Int, token: Int) -> [UInt8]
}

public enum Tokenizers {
    /// The tokenizer a vocabulary describes.
    public static func make(_ data: TokenizerData) throws -> any Tokenizer {
        switch data.kind {
        case .sentencePiece: try SentencePieceTokenizer(data)
        case .byteLevelBPE: try ByteLevelBPETokenizer(data)
        }
    }
}

extension TokenizerData {
    /// Encoding emits BOS and EOS and the forward pass indexes the embedding with them, so a
    /// vocabulary whose special ids are not its tokens is refused before it is used.
    func checkSpecialTokens() throws {
        guard (0..<count).contains(bosID), (0..<count).contains(eosID) else {
            throw LLMQError(.invalid, "tokenizer BOS \(bosID) or EOS \(eosID) is not one of its \(count) tokens")
        }
    }
}
