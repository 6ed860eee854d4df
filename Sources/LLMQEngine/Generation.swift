/// Text generation as run.c's `generate` does it: the prompt is fed token by token (its logits
/// discarded), then sampled tokens are fed back until `steps` positions or a BOS.
public struct Generation {
    public struct Stats: Sendable {
        public var promptTokens: Int
        public var generatedTokens: Int
        /// Positions run after the first, over the time they took (run.c's "achieved tok/s").
        public var tokensPerSecond: Double
        public var tokens: [Int]
    }

    /// - Parameter steps: positions to run in all, prompt included (0 means the whole context).
    /// - Parameter emit: receives each piece's bytes as it is decoded.
    public static func run(transformer: Transformer, tokenizer: any Tokenizer, sampler: inout Sampler,
                           prompt: String, steps: Int, emit: ([UInt8]) -> Void) -> Stats {
        let limit = steps <= 0 || steps > transformer.contextLength ? transformer.contextLength : steps
        // A vocabulary without a BOS convention still needs a first token for an empty prompt.
        let encoded = tokenizer.encode(prompt, bos: true, eos: false)
        let promptTokens = encoded.isEmpty ? [tokenizer.bosID] : encoded
        var token = promptTokens[0]
        // Without a BOS (SmolLM2 adds none) the first prompt token is text too.
        if token != tokenizer.bosID { emit(tokenizer.decode(previous: tokenizer.bosID, token: token)) }
        var pos = 0
        var produced: [Int] = [token]
        var start: ContinuousClock.Instant?
        while pos < limit {
            let logits = transformer.forward(token: token, pos: pos)
            let inPrompt = pos < promptTokens.count - 1
            let next = inPrompt ? promptTokens[pos + 1] : sampler.sample(logits)
            pos += 1
            // A sampled BOS delimits sequences (a chat prompt holds BOS tokens of its own).
            if next == tokenizer.bosID && !inPrompt { break }
            emit(tokenizer.decode(previous: token, token: next))
            produced.append(next)
            token = next
            if start == nil { start = .now }
        }
        var rate = 0.0
        if let start, pos > 1 {
            let d = ContinuousClock.now - start
            let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            rate = seconds > 0 ? Double(pos - 1) / seconds : 0
        }
        return Stats(promptTokens: promptTokens.count, generatedTokens: produced.count - min(promptTokens.count, produced.count),
                     tokensPerSecond: rate, tokens: produced)
    }
}
