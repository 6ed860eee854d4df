import ArgumentParser
import LLMQ

/// Options `perplexity`, `verify` and `calibrate` share: the text, its tokenizer, how it is cut, the threads.
struct EvaluationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Text file to score (UTF-8).", valueName: "file"))
    var text: String?

    @Option(name: .short, help: ArgumentHelp("Tokenizer (llama2.c tokenizer.bin) for a model file that carries none; default: tokenizer.bin beside the model.",
                                             valueName: "tokenizer"))
    var z: String?

    @Option(help: "Tokens per chunk (default: \(EvaluationSettings.defaultContextLength), or the model's context length when shorter).")
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

    var settings: EvaluationSettings {
        EvaluationSettings(contextLength: ctx, maxChunks: chunks, scoreAll: scoreAll, batchSize: batch, threads: threads)
    }

    /// The --text file, required.
    func requiredText() throws -> TextInput {
        guard let text else { throw LLMQError(.usage, "--text FILE is required") }
        return .file(text)
    }
}
