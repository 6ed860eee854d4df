/// A tokenizer's vocabulary as files carry it. The engine's tokenizers are built from this;
/// writers embed it (llmq container, GGUF) or write it beside the model (llama2.c `tokenizer.bin`).
public struct TokenizerData: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// SentencePiece-style: score-driven merges, `▁`/space prefix, `<0xNN>` byte fallback
        /// (llama2.c `tokenizer.bin`, GGUF `tokenizer.ggml.model = llama`).
        case sentencePiece = "llama"
        /// GPT-2 byte-level BPE with ranked merges (GGUF `tokenizer.ggml.model = gpt2`).
        case byteLevelBPE = "gpt2"
    }

    public var kind: Kind
    /// Token pieces as raw bytes (llama2.c pieces are not guaranteed to be UTF-8).
    public var pieces: [[UInt8]]
    public var scores: [Float]
    /// GGUF token types (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte); empty if unknown.
    public var tokenTypes: [Int32]
    /// BPE merges, "left right", best first (byte-level BPE only).
    public var merges: [String]
    public var bosID: Int
    public var eosID: Int
    public var unknownID: Int?
    /// Whether encoding prepends BOS (llama2.c and SentencePiece models do).
    public var addBOS: Bool
    /// A pre-tokenizer name for byte-level BPE (GGUF `tokenizer.ggml.pre`), e.g. "smollm".
    public var preTokenizer: String?

    public init(kind: Kind, pieces: [[UInt8]], scores: [Float], tokenTypes: [Int32] = [], merges: [String] = [],
                bosID: Int = 1, eosID: Int = 2, unknownID: Int? = 0, addBOS: Bool = true, preTokenizer: String? = nil) {
        self.kind = kind
        self.pieces = pieces
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosID = bosID
        self.eosID = eosID
        self.unknownID = unknownID
        self.addBOS = addBOS
        self.preTokenizer = preTokenizer
    }

    public var count: Int { pieces.count }
    public var maxPieceLength: Int { pieces.map(\.count).max() ?? 0 }
}
