import LLMQCore
import LLMQEngine

/// How a token stream is cut and scored. By default llama.cpp's perplexity protocol: the stream is
/// cut into consecutive chunks of `contextLength` tokens, each chunk's first token is replaced by
/// BOS when the vocabulary adds one (`bosID`; nil for vocabularies that add none, such as
/// SmolLM2's), every chunk is evaluated from an empty cache, and only the second half is scored
/// (its predictions have at least half a context of history). `scoreAll` scores every prediction.
/// `EvaluationTokens` makes plans with the vocabulary's BOS rule.
public struct EvaluationPlan: Codable, Sendable, Equatable {
    public let contextLength: Int
    public let chunkCount: Int
    public let scoreAll: Bool
    /// The token that replaces each chunk's first, or nil to run chunks as the text has them.
    public let bosID: Int?

    /// - Parameter maxChunks: at most this many chunks (nil: as many as the stream holds).
    public init(tokenCount: Int, contextLength: Int, maxChunks: Int? = nil, scoreAll: Bool = false, bosID: Int?) throws {
        guard contextLength >= 4 else { throw LLMQError(.usage, "context length \(contextLength) is too short to score (needs ≥ 4)") }
        let available = tokenCount / contextLength
        guard available >= 1 else {
            throw LLMQError(.usage, "the text has \(tokenCount) tokens, fewer than one chunk of \(contextLength); use a longer text or a smaller --ctx")
        }
        if let maxChunks, maxChunks < 1 { throw LLMQError(.usage, "chunk count \(maxChunks) must be ≥ 1") }
        self.contextLength = contextLength
        chunkCount = min(available, maxChunks ?? available)
        self.scoreAll = scoreAll
        self.bosID = bosID
    }

    /// Position whose logits are the first scored (they predict the token after it).
    public var firstScored: Int { scoreAll ? 0 : contextLength / 2 }
    /// Predictions scored per chunk: positions firstScored ..< contextLength − 1 predict the next token.
    public var scoredPerChunk: Int { contextLength - 1 - firstScored }
    public var scoredTotal: Int { chunkCount * scoredPerChunk }
    /// Positions a model runs per chunk: the last token's logits predict nothing, so it is not run.
    public var evaluatedPerChunk: Int { contextLength - 1 }

    /// Chunk `index` of `tokens` as the model sees it: BOS in place of its first token, when there is one.
    public func chunk(_ index: Int, of tokens: [Int]) -> [Int] {
        var chunk = Array(tokens[(index * contextLength)..<((index + 1) * contextLength)])
        if let bosID { chunk[0] = bosID }
        return chunk
    }

    /// One line for reports: which predictions count.
    public var protocolDescription: String {
        let head = "\(chunkCount) chunks of \(contextLength) tokens, " + (bosID == nil ? "no BOS (the vocabulary adds none), " : "BOS at each chunk start, ")
        return head + (scoreAll ? "every prediction scored" : "second half of each chunk scored (llama.cpp's protocol)")
            + ": \(scoredTotal) scored tokens"
    }
}

/// A text's tokens as every evaluation scores them (perplexity, verify, calibrate, GPTQ's
/// collection), under llama.cpp's BOS rule (`tools/perplexity`): the text starts with BOS, and
/// BOS replaces each chunk's first token, only when the vocabulary adds BOS
/// (`llama_vocab_get_add_bos`; here `Tokenizer.addsBOS`, which each reader sets from its format).
public struct EvaluationTokens: Sendable, Equatable {
    public let tokens: [Int]
    /// BOS as the text's first token and at each chunk start; nil when the vocabulary adds none.
    public let bosID: Int?

    /// Tokenizes `text` (invalid UTF-8 has already been replaced, as a text editor shows it).
    public init(text: String, tokenizer: any Tokenizer) {
        self.init(tokens: tokenizer.encode(text, bos: true, eos: false), bosID: tokenizer.addsBOS ? tokenizer.bosID : nil)
    }

    /// Tokens tokenized elsewhere (a saved reference's), with the BOS they were tokenized with.
    public init(tokens: [Int], bosID: Int?) {
        self.tokens = tokens
        self.bosID = bosID
    }

    public var count: Int { tokens.count }

    /// Chunks of `contextLength` tokens of this text, scored as asked.
    public func plan(contextLength: Int, maxChunks: Int? = nil, scoreAll: Bool = false) throws -> EvaluationPlan {
        try EvaluationPlan(tokenCount: tokens.count, contextLength: contextLength, maxChunks: maxChunks, scoreAll: scoreAll, bosID: bosID)
    }
}
