import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQVerify

/// Text to score or calibrate on: a UTF-8 file (invalid bytes are replaced, as a text editor shows
/// them), or text in memory with a name for reports.
public enum TextInput: Sendable, Hashable {
    case file(String)
    case string(String, name: String)

    /// The file's path or the text's name, as reports and file metadata record it.
    public var name: String {
        switch self {
        case .file(let path): path
        case .string(_, let name): name
        }
    }

    /// - Parameter what: the text's role in the error when the file cannot be read.
    func contents(_ what: String = "the text file") throws -> String {
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw LLMQError(.io, "cannot read \(what)", file: path) }
            return String(decoding: data, as: UTF8.self)
        case .string(let text, _):
            return text
        }
    }

    /// Its tokens under the vocabulary's BOS rule (the one rule every evaluation uses).
    func tokens(_ tokenizer: any Tokenizer, _ what: String = "the text file") throws -> EvaluationTokens {
        EvaluationTokens(text: try contents(what), tokenizer: tokenizer)
    }
}

/// How a text is cut and run by `perplexity`, `verify` and `calibrate`.
public struct EvaluationSettings: Sendable, Hashable, Codable {
    /// Tokens per chunk when none is asked for, capped at the model's context: what llama.cpp's
    /// perplexity figures are usually quoted at, and short enough for a few pages of text.
    public static let defaultContextLength = 512

    /// Tokens per chunk; nil: `defaultContextLength`, or the model's context length when shorter.
    public var contextLength: Int?
    /// Score at most this many chunks; nil: all the text holds.
    public var maxChunks: Int?
    /// Score every prediction of a chunk instead of its second half (llama.cpp's protocol).
    public var scoreAll = false
    /// Positions per forward pass: nil or 0 up to `ChunkRunner.defaultBatchSize`, 1 token by token.
    public var batchSize: Int?
    /// Worker threads; nil: every core.
    public var threads: Int?

    public init(contextLength: Int? = nil, maxChunks: Int? = nil, scoreAll: Bool = false, batchSize: Int? = nil, threads: Int? = nil) {
        self.contextLength = contextLength
        self.maxChunks = maxChunks
        self.scoreAll = scoreAll
        self.batchSize = batchSize
        self.threads = threads
    }

    /// The chunk length for models of these context lengths.
    func contextLength(for models: Model...) -> Int {
        contextLength ?? models.map(\.config.contextLength).reduce(Self.defaultContextLength, min)
    }

    func makePool() throws -> ThreadPool {
        try checkThreads(threads)
        return ThreadPool(threads: threads)
    }
}

func checkThreads(_ threads: Int?) throws {
    if let threads, threads < 1 { throw LLMQError(.usage, "thread count \(threads) must be ≥ 1") }
}

/// Opening models the way each kind of call needs them.
enum ModelInput {
    /// A model to run on text: its own tokenizer, else `tokenizer` (a llama2.c tokenizer.bin), else
    /// tokenizer.bin beside it. A file's own tokenizer is never replaced, so `verify` notices two
    /// models that disagree.
    static func openForEvaluation(_ path: String, tokenizer: String?) throws -> (model: Model, tokenizer: any Tokenizer) {
        let own = try ModelFile.open(path)
        let model = own.tokenizer != nil ? own : try ModelFile.openWithTokenizer(path, tokenizerPath: tokenizer)
        guard let vocabulary = model.tokenizer else { throw LLMQError(.usage, "has no tokenizer; pass one with -z", file: path) }
        return (model, try Tokenizers.make(vocabulary))
    }

    /// A model to rewrite: the tokenizer to embed is `tokenizer` when given, else its own, else
    /// tokenizer.bin beside a llama2.c checkpoint.
    static func openForWriting(_ path: String, tokenizer: String?) throws -> Model {
        try ModelFile.openWithTokenizer(path, tokenizerPath: tokenizer)
    }
}
