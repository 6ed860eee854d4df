import LLMQCore

/// Text ↔ token ids.
public protocol Tokenizer: Sendable {
    var vocabSize: Int { get }
    var bosID: Int { get }
    var eosID: Int { get }
    /// - Parameter bos: start with BOS when the vocabulary asks for it (`TokenizerData.addBOS`:
    ///   SentencePiece models do, SmolLM2's GPT-2 vocabulary does not).
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
