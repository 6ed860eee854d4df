import LLMQCore

/// Opening and writing any model file llmq knows. Reading goes by content (magic bytes), writing
/// by the destination's extension or an explicit format.
public enum ModelFile {
    /// The formats llmq reads, recognised by their first bytes.
    public enum Kind: String, CaseIterable, Sendable {
        case llama2c
        case gguf
        /// A safetensors file, shard index or Hugging Face model directory.
        case safetensors
    }

    public static func detect(_ path: String) throws -> Kind {
        if HFDirectory.isDirectory(path) || path.hasSuffix(".safetensors") || path.hasSuffix(".safetensors.index.json") {
            return .safetensors
        }
        let file = try MappedFile(path: path)
        let head = file.bytes
        if Llama2CReader.isVersioned(head) { return .llama2c }
        if GGUF.isGGUF(head) { return .gguf }
        if SafetensorsReader.looksLikeSafetensors(head) { return .safetensors }
        // Legacy llama2.c files have no magic; their reader checks the header against the file length.
        return .llama2c
    }

    public static func open(_ path: String) throws -> Model {
        switch try detect(path) {
        case .llama2c: try Llama2CReader.read(path: path)
        case .gguf: try GGUFReader.read(path: path)
        case .safetensors: try SafetensorsReader.read(path: path)
        }
    }

    /// Opens a model and attaches a tokenizer: `tokenizerPath` (llama2.c `tokenizer.bin`) when
    /// given, otherwise the file's own.
    public static func open(_ path: String, tokenizerPath: String?) throws -> Model {
        let model = try open(path)
        if let tokenizerPath {
            model.tokenizer = try Llama2CTokenizerFile.read(path: tokenizerPath, expectedCount: model.config.vocabSize)
        }
        return model
    }
}
