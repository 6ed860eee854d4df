import LLMQCore

/// Opening any model file llmq reads, by content (magic bytes) rather than by name.
public enum ModelFile {
    public static func open(_ path: String) throws -> Model {
        try Llama2CReader.read(path: path)
    }

    /// Opens a model and attaches a tokenizer: the file's own, or `tokenizerPath` (llama2.c `tokenizer.bin`).
    public static func open(_ path: String, tokenizerPath: String?) throws -> Model {
        let model = try open(path)
        if let tokenizerPath {
            model.tokenizer = try Llama2CTokenizerFile.read(path: tokenizerPath, expectedCount: model.config.vocabSize)
        }
        return model
    }
}
