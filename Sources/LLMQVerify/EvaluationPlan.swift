import LLMQCore

/// How a token stream is cut and scored. By default llama.cpp's perplexity protocol: the stream is
/// cut into consecutive chunks of `contextLength` tokens, each chunk's first token is replaced by
/// BOS, every chunk is evaluated from an empty cache, and only the second half is scored (its
/// predictions have at least half a context of history). `scoreAll` scores every prediction.
public struct EvaluationPlan: Codable, Sendable, Equatable {
    public let contextLength: Int
    public let chunkCount: Int
    public let scoreAll: Bool
    public let bosID: Int

    /// - Parameter maxChunks: at most this many chunks (nil: as many as the stream holds).
    public init(tokenCount: Int, contextLength: Int, maxChunks: Int? = nil, scoreAll: Bool = false, bosID: Int) throws {
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

    /// Chunk `index` of `tokens` as the model sees it: BOS in place of its first token.
    public func chunk(_ index: Int, of tokens: [Int]) -> [Int] {
        var chunk = Array(tokens[(index * contextLength)..<((index + 1) * contextLength)])
        chunk[0] = bosID
        return chunk
    }

    /// One line for reports: which predictions count.
    public var protocolDescription: String {
        let head = "\(chunkCount) chunks of \(contextLength) tokens, BOS at each chunk start, "
        return head + (scoreAll ? "every prediction scored" : "second half of each chunk scored (llama.cpp's protocol)")
            + ": \(scoredTotal) scored tokens"
    }
}
