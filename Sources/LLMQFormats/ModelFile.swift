import LLMQCore

/// Opening and writing any model file llmq knows. Reading goes by content (magic bytes), writing
/// by the destination's extension or an explicit format.
public enum ModelFile {
    /// The formats llmq reads, recognised by their first bytes.
    public enum Kind: String, CaseIterable, Sendable {
        case llama2c
        case llmq
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
        if ContainerLayout.isContainer(head) || ContainerLayout.isDamagedContainer(head) { return .llmq }
        if Llama2CReader.isVersioned(head) { return .llama2c }
        if GGUF.isGGUF(head) { return .gguf }
        if SafetensorsReader.looksLikeSafetensors(head) { return .safetensors }
        // Legacy llama2.c files have no magic; their reader checks the header against the file length.
        return .llama2c
    }

    public static func open(_ path: String) throws -> Model {
        switch try detect(path) {
        case .llama2c: try Llama2CReader.read(path: path)
        case .llmq: try LLMQContainerReader.read(path: path)
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

    /// Opens a model with its tokenizer: `tokenizerPath` when given; otherwise the file's own, or a
    /// llama2.c `tokenizer.bin` beside it when the file has none (llama2.c keeps them apart).
    public static func openWithTokenizer(_ path: String, tokenizerPath: String?) throws -> Model {
        let model = try open(path, tokenizerPath: tokenizerPath)
        if model.tokenizer == nil, tokenizerPath == nil, model.format.name == "llama2c" {
            let slash = path.lastIndex(of: "/")
            let beside = (slash.map { String(path[...$0]) } ?? "") + "tokenizer.bin"
            if (try? MappedFile(path: beside)) != nil {
                model.tokenizer = try Llama2CTokenizerFile.read(path: beside, expectedCount: model.config.vocabSize)
            }
        }
        return model
    }

    /// Verifies a file without running it. Containers check every byte against their checksums;
    /// formats without checksums get their structural checks (everything opening validates).
    public static func check(_ path: String) -> IntegrityReport {
        let kind: Kind
        do { kind = try detect(path) } catch let e as LLMQError {
            return IntegrityReport(path: path, format: "unknown", verified: [], problems: [IntegrityReport.Problem(e, place: "file")])
        } catch {
            return IntegrityReport(path: path, format: "unknown", verified: [], problems: [IntegrityReport.Problem(place: "file", message: "\(error)")])
        }
        switch kind {
        case .llmq:
            return ContainerCheck.run(path: path)
        case .llama2c, .safetensors, .gguf:
            do {
                let model = try open(path)
                return IntegrityReport(path: path, format: model.format.description,
                                       verified: ["structure and sizes (the format has no checksums)"], problems: [])
            } catch let e as LLMQError {
                return IntegrityReport(path: path, format: kind.rawValue, verified: [], problems: [IntegrityReport.Problem(e, place: "file")])
            } catch {
                return IntegrityReport(path: path, format: kind.rawValue, verified: [], problems: [IntegrityReport.Problem(place: "file", message: "\(error)")])
            }
        }
    }
}
