import LLMQCore

/// The metadata keys llmq reads and writes (llama.cpp's names), and the `ModelConfig` they describe.
enum GGUFKey {
    static let architecture = "general.architecture"
    static let name = "general.name"
    static let alignment = "general.alignment"
    static let fileType = "general.file_type"
    static let quantizationVersion = "general.quantization_version"

    static let contextLength = "llama.context_length"
    static let embeddingLength = "llama.embedding_length"
    static let feedForwardLength = "llama.feed_forward_length"
    static let blockCount = "llama.block_count"
    static let headCount = "llama.attention.head_count"
    static let headCountKV = "llama.attention.head_count_kv"
    static let ropeFreqBase = "llama.rope.freq_base"
    static let rmsEpsilon = "llama.attention.layer_norm_rms_epsilon"
    static let ropeDimensionCount = "llama.rope.dimension_count"
    static let keyLength = "llama.attention.key_length"
    static let valueLength = "llama.attention.value_length"
    static let vocabSize = "llama.vocab_size"

    static let tokenizerModel = "tokenizer.ggml.model"
    static let tokenizerPre = "tokenizer.ggml.pre"
    static let tokens = "tokenizer.ggml.tokens"
    static let scores = "tokenizer.ggml.scores"
    static let tokenType = "tokenizer.ggml.token_type"
    static let merges = "tokenizer.ggml.merges"
    static let bosID = "tokenizer.ggml.bos_token_id"
    static let eosID = "tokenizer.ggml.eos_token_id"
    static let unknownID = "tokenizer.ggml.unknown_token_id"
    static let addBOS = "tokenizer.ggml.add_bos_token"
}

/// `ModelConfig` ↔ the `llama.*` keys.
enum GGUFLlamaMetadata {
    static func config(_ file: GGUFFile) throws -> ModelConfig {
        let arch = file[GGUFKey.architecture]
        guard let arch else { throw LLMQError(.invalid, "metadata has no \(GGUFKey.architecture)") }
        guard arch.string == "llama" else {
            throw LLMQError(.unsupported, "architecture \(arch.summary): llmq runs and converts Llama models only")
        }
        func int(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let value = file[key] else {
                if let fallback { return fallback }
                throw LLMQError(.invalid, "metadata has no \(key)")
            }
            guard let v = value.int, v > 0, v <= 1 << 31 else {
                throw LLMQError(.invalid, "metadata \(key) must be a positive integer, found \(value.type) \(value.summary)")
            }
            return v
        }
        func float(_ key: String, default fallback: Float) throws -> Float {
            guard let value = file[key] else { return fallback }
            guard let v = value.double else { throw LLMQError(.invalid, "metadata \(key) must be a float, found \(value.type) \(value.summary)") }
            return Float(v)
        }
        let heads = try int(GGUFKey.headCount)
        let names = Set(file.tensors.map(\.name))
        let embedding = file.tensors.first { $0.name == CanonicalName.tokenEmbedding }
        let vocab = try int(GGUFKey.vocabSize, default: file[GGUFKey.tokens]?.array?.count ?? embedding?.shape.first ?? 0)
        let config = ModelConfig(
            dim: try int(GGUFKey.embeddingLength), hiddenDim: try int(GGUFKey.feedForwardLength),
            layerCount: try int(GGUFKey.blockCount), headCount: heads, kvHeadCount: try int(GGUFKey.headCountKV, default: heads),
            vocabSize: vocab, contextLength: try int(GGUFKey.contextLength),
            ropeTheta: try float(GGUFKey.ropeFreqBase, default: 10000), normEpsilon: try float(GGUFKey.rmsEpsilon, default: 1e-5),
            sharedClassifier: !names.contains(CanonicalName.output))
        do { try config.validate() } catch let e as LLMQError { throw LLMQError(.invalid, "llama metadata: " + e.message) }
        // llmq rotates whole heads and uses the same width for keys and values.
        for key in [GGUFKey.ropeDimensionCount, GGUFKey.keyLength, GGUFKey.valueLength] where file[key] != nil {
            let v = try int(key)
            guard v == config.headDim else {
                throw LLMQError(.unsupported, "metadata \(key) = \(v) differs from the head size \(config.headDim)")
            }
        }
        return config
    }

    /// The `llama.*` entries for `c`, as llama.cpp's converter writes them.
    static func entries(_ c: ModelConfig) -> [(String, GGUFValue)] {
        [
            (GGUFKey.contextLength, .uint32(UInt32(c.contextLength))),
            (GGUFKey.embeddingLength, .uint32(UInt32(c.dim))),
            (GGUFKey.feedForwardLength, .uint32(UInt32(c.hiddenDim))),
            (GGUFKey.blockCount, .uint32(UInt32(c.layerCount))),
            (GGUFKey.headCount, .uint32(UInt32(c.headCount))),
            (GGUFKey.headCountKV, .uint32(UInt32(c.kvHeadCount))),
            (GGUFKey.ropeFreqBase, .float32(c.ropeTheta)),
            (GGUFKey.rmsEpsilon, .float32(c.normEpsilon)),
            (GGUFKey.ropeDimensionCount, .uint32(UInt32(c.headDim))),
            (GGUFKey.vocabSize, .uint32(UInt32(c.vocabSize))),
        ]
    }
}
