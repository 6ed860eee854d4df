import LLMQCore

/// What a Hugging Face directory says about starting a text with BOS, applied to the vocabulary
/// the weights carry (`llmq.tokenizer`): `tokenizer_config.json`'s `add_bos_token` when it sets
/// one (transformers' own switch), else `tokenizer.json`'s post-processor — a `TemplateProcessing`
/// (alone or in a `Sequence`) whose single-text template starts with a special token adds it,
/// any other (GPT-2's `ByteLevel`) adds none. Neither file, or a null post-processor: nil, and the
/// vocabulary keeps its own setting.
enum HFTokenizerConfig {
    static let configFile = "tokenizer_config.json"
    static let tokenizerFile = "tokenizer.json"
    /// tokenizer.json holds the whole vocabulary (~9 MB for Llama 3); more is not a tokenizer file.
    static let maxBytes = 1 << 26

    /// - Parameter directory: the prefix that names a sibling file ("dir/" or "").
    static func addsBOS(directory: String) throws -> Bool? {
        if let config = try read(directory + configFile), let add = config["add_bos_token"], add != .null {
            guard let b = add.bool else {
                throw LLMQError(.invalid, "add_bos_token is \(add.kindDescription), expected a boolean", file: directory + configFile)
            }
            return b
        }
        guard let tokenizer = try read(directory + tokenizerFile), let processor = tokenizer["post_processor"], processor != .null else {
            return nil
        }
        return startsWithSpecialToken(processor)
    }

    static func startsWithSpecialToken(_ processor: JSONValue) -> Bool {
        switch processor["type"]?.string {
        case "TemplateProcessing":
            return processor["single"]?.array?.first?["SpecialToken"] != nil
        case "Sequence":
            return processor["processors"]?.array?.contains(where: startsWithSpecialToken) ?? false
        default:
            return false
        }
    }

    private static func read(_ path: String) throws -> JSONValue? {
        guard HFDirectory.exists(path) else { return nil }
        let file = try MappedFile(path: path)
        do {
            guard file.count <= maxBytes else { throw LLMQError(.invalid, "\(file.count) bytes is implausibly large for a tokenizer file") }
            return try JSONParser.parse(file.bytes)
        } catch let e as LLMQError {
            throw e.inFile(path)
        }
    }
}
