import ArgumentParser
import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQVerify

/// Options `perplexity` and `verify` share: the text, its tokenizer, how it is cut, the threads.
struct EvaluationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Text file to score (UTF-8).", valueName: "file"))
    var text: String?

    @Option(name: .short, help: ArgumentHelp("Tokenizer (llama2.c tokenizer.bin) for a model file that carries none; default: tokenizer.bin beside the model.",
                                             valueName: "tokenizer"))
    var z: String?

    @Option(help: "Tokens per chunk (default: the model's context length).")
    var ctx: Int?

    @Option(help: "Score at most this many chunks (default: all the text holds).")
    var chunks: Int?

    @Flag(help: "Score every prediction of a chunk instead of only its second half (llama.cpp's protocol, the default).")
    var scoreAll = false

    @Option(help: "Positions per forward pass: 0 runs up to \(ChunkRunner.defaultBatchSize) at once, 1 decodes token by token.")
    var batch: Int = 0

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let ctx, ctx < 4 { throw ValidationError("--ctx must be ≥ 4") }
        if let chunks, chunks < 1 { throw ValidationError("--chunks must be ≥ 1") }
        guard batch >= 0 else { throw ValidationError("--batch must be ≥ 0") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1") }
    }

    /// Opens a model with a tokenizer: the file's own, else -z, else a llama2.c tokenizer.bin beside
    /// it. A file's own tokenizer is never replaced, so `verify` notices two models that disagree.
    func open(_ path: String) throws -> (model: Model, tokenizer: any Tokenizer) {
        let own = try ModelFile.open(path)
        let model = own.tokenizer != nil ? own : try ModelFile.openWithTokenizer(path, tokenizerPath: z)
        guard let vocabulary = model.tokenizer else { throw LLMQError(.usage, "has no tokenizer; pass one with -z", file: path) }
        return (model, try Tokenizers.make(vocabulary))
    }

    /// The text file's tokens, BOS first (invalid UTF-8 is replaced, as a text editor would show it).
    func tokens(_ tokenizer: any Tokenizer) throws -> [Int] {
        guard let text else { throw LLMQError(.usage, "--text FILE is required") }
        guard let data = FileManager.default.contents(atPath: text) else {
            throw LLMQError(.io, "cannot read the text file", file: text)
        }
        return tokenizer.encode(String(decoding: data, as: UTF8.self), bos: true, eos: false)
    }

    /// How the tokens are cut and scored: --ctx (default: the model's context), --chunks, --score-all.
    func plan(_ tokens: [Int], model: Model, tokenizer: any Tokenizer) throws -> EvaluationPlan {
        try EvaluationPlan(tokenCount: tokens.count, contextLength: ctx ?? model.config.contextLength, maxChunks: chunks,
                           scoreAll: scoreAll, bosID: tokenizer.bosID)
    }

    /// A new pool of worker threads; make one per command and share it.
    func makePool() -> ThreadPool { ThreadPool(threads: threads) }
}
