import LLMQCore
import LLMQEngine
import LLMQQuant

/// What llmq's commands do with a model once a reader has accepted it — `inspect` (the report),
/// `convert`/`dequantize` (every tensor expanded to fp32), `run` (the tokenizer and a few positions
/// of the forward pass) — so a file that opens but lies deeper down is found too.
enum Exercise {
    /// Tensors larger than this are skipped: a zstd tensor may legitimately expand far beyond its
    /// stored bytes, and fp32 expansion of a whole input-sized tensor is already covered.
    static let maxDecodedBytes = 32 << 20
    static let pool = ThreadPool(threads: 1)
    static let texts = ["Once upon a time", "", " a  b\n\tc", "héllo wörld 日本 🙂", "<s></s><unk><|endoftext|>", "\u{0}\u{7F}\u{FFFD}"]

    static func model(_ model: Model) throws {
        _ = ModelReport(model)
        for t in model.tensors where t.byteCount <= maxDecodedBytes && t.elementCount <= maxDecodedBytes / 4 {
            _ = try Dequantize.tensor(model, t)
            model.release(t)
        }
        let tokenizer = try model.tokenizer.map(Tokenizers.make)
        if let tokenizer { self.tokenizer(tokenizer) }
        try run(model, tokenizer: tokenizer)
    }

    /// `llmq run -n 3 -i TEXT`: a prompt through the forward pass, then greedy sampling.
    static func run(_ model: Model, tokenizer: (any Tokenizer)?) throws {
        let transformer = try Transformer(model: model, contextLength: 3, pool: pool)
        guard let tokenizer else {
            _ = transformer.forward(token: model.config.vocabSize - 1, pos: 0)
            return
        }
        var sampler = Sampler(vocabSize: model.config.vocabSize, temperature: 0, topP: 0.9, seed: 1)
        _ = Generation.run(transformer: transformer, tokenizer: tokenizer, sampler: &sampler, prompt: texts[0], steps: 3) { _ in }
    }

    /// Encodes a few awkward texts and decodes every token of the results and of the vocabulary's start.
    static func tokenizer(_ tokenizer: any Tokenizer) {
        for text in texts {
            let ids = tokenizer.encode(text, bos: true, eos: true)
            var previous = tokenizer.bosID
            for id in ids {
                _ = tokenizer.decode(previous: previous, token: id)
                previous = id
            }
        }
        for id in -1...min(tokenizer.vocabSize, 300) { _ = tokenizer.decode(previous: tokenizer.bosID, token: id) }
    }
}
