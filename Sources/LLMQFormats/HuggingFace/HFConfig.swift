import LLMQCore

/// Hugging Face `config.json` of a Llama model ↔ `ModelConfig` (`formats/safetensors.md`).
/// Anything that would change the forward pass beyond what llmq's engine does (another
/// architecture, RoPE scaling, biases, an odd head size) is rejected, not ignored.
public enum HFConfig {
    public static let fileName = "config.json"

    public static func read(path: String) throws -> ModelConfig {
        let file = try MappedFile(path: path)
        do {
            guard file.count <= 1 << 24 else { throw LLMQError(.invalid, "config of \(file.count) bytes is implausibly large") }
            return try parse(try JSONParser.parse(file.bytes))
        } catch let e as LLMQError {
            throw e.inFile(path)
        }
    }

    public static func parse(_ json: JSONValue) throws -> ModelConfig {
        guard json.members != nil else { throw LLMQError(.invalid, "config is \(json.kindDescription), not a JSON object") }
        try checkArchitecture(json)
        func int(_ key: String, default value: Int? = nil) throws -> Int {
            guard let field = json[key], field != .null else {
                guard let value else { throw LLMQError(.invalid, "config has no \(key)") }
                return value
            }
            guard let i = field.integer else { throw LLMQError(.invalid, "config \(key) is \(field.kindDescription), expected an integer") }
            return i
        }
        func float(_ key: String, default value: Float) throws -> Float {
            guard let field = json[key], field != .null else { return value }
            guard let d = field.double else { throw LLMQError(.invalid, "config \(key) is \(field.kindDescription), expected a number") }
            return Float(d)
        }
        let heads = try int("num_attention_heads")
        // Transformers' LlamaConfig defaults for the optional fields.
        var config = ModelConfig(
            dim: try int("hidden_size"), hiddenDim: try int("intermediate_size"), layerCount: try int("num_hidden_layers"),
            headCount: heads, kvHeadCount: try int("num_key_value_heads", default: heads), vocabSize: try int("vocab_size"),
            contextLength: try int("max_position_embeddings", default: 2048),
            ropeTheta: try float("rope_theta", default: 10000), normEpsilon: try float("rms_norm_eps", default: 1e-6))
        if let tie = json["tie_word_embeddings"], tie != .null {
            guard let b = tie.bool else { throw LLMQError(.invalid, "config tie_word_embeddings is \(tie.kindDescription), expected a boolean") }
            config.sharedClassifier = b
        } else {
            config.sharedClassifier = false
        }
        try config.validate()
        if let headDim = json["head_dim"], headDim != .null, headDim.integer != config.headDim {
            throw LLMQError(.unsupported, "config head_dim \(headDim.integer.map(String.init) ?? headDim.kindDescription) differs from hidden_size / num_attention_heads = \(config.headDim)")
        }
        return config
    }

    private static func checkArchitecture(_ json: JSONValue) throws {
        let architectures = json["architectures"]?.array?.compactMap(\.string) ?? []
        let modelType = json["model_type"]?.string
        guard !architectures.isEmpty || modelType != nil else {
            throw LLMQError(.invalid, "config names neither architectures nor model_type")
        }
        if !architectures.isEmpty, !architectures.contains("LlamaForCausalLM") {
            throw LLMQError(.unsupported, "architecture \(architectures.joined(separator: ", ")) is not supported (llmq reads LlamaForCausalLM)")
        }
        if let modelType, modelType != "llama" {
            throw LLMQError(.unsupported, "model_type \"\(modelType)\" is not supported (llmq reads llama)")
        }
        if let scaling = json["rope_scaling"], scaling != .null {
            let type = scaling["rope_type"]?.string ?? scaling["type"]?.string
            guard type == "default" else {
                throw LLMQError(.unsupported, "rope_scaling \(scaling.serialized) is not supported (llmq implements plain RoPE)")
            }
        }
        if let act = json["hidden_act"], act != .null, act.string != "silu" {
            throw LLMQError(.unsupported, "hidden_act \(act.serialized) is not supported (Llama uses silu)")
        }
        for key in ["attention_bias", "mlp_bias"] {
            if let field = json[key], field != .null, field.bool != false {
                throw LLMQError(.unsupported, "\(key) \(field.serialized) is not supported (llmq's Llama has no biases)")
            }
        }
    }

    /// The config.json transformers writes for `LlamaForCausalLM`, keys sorted as it sorts them.
    public static func json(_ c: ModelConfig, torchDType: String, bosID: Int? = nil, eosID: Int? = nil) -> JSONValue {
        // Float's shortest text ("1e-05"), not the double nearest the float (9.99999974737875e-06).
        func number(_ f: Float) -> JSONValue { .number(Double("\(f)") ?? Double(f)) }
        var members: [JSONMember] = [
            JSONMember("architectures", .array([.string("LlamaForCausalLM")])),
            JSONMember("attention_bias", .bool(false)),
            JSONMember("attention_dropout", .number(0)),
            JSONMember("head_dim", .integer(c.headDim)),
            JSONMember("hidden_act", .string("silu")),
            JSONMember("hidden_size", .integer(c.dim)),
            JSONMember("initializer_range", .number(0.02)),
            JSONMember("intermediate_size", .integer(c.hiddenDim)),
            JSONMember("max_position_embeddings", .integer(c.contextLength)),
            JSONMember("mlp_bias", .bool(false)),
            JSONMember("model_type", .string("llama")),
            JSONMember("num_attention_heads", .integer(c.headCount)),
            JSONMember("num_hidden_layers", .integer(c.layerCount)),
            JSONMember("num_key_value_heads", .integer(c.kvHeadCount)),
            JSONMember("pretraining_tp", .integer(1)),
            JSONMember("rms_norm_eps", number(c.normEpsilon)),
            JSONMember("rope_scaling", .null),
            JSONMember("rope_theta", number(c.ropeTheta)),
            JSONMember("tie_word_embeddings", .bool(c.sharedClassifier)),
            JSONMember("torch_dtype", .string(torchDType)),
            JSONMember("use_cache", .bool(true)),
            JSONMember("vocab_size", .integer(c.vocabSize)),
        ]
        if let bosID { members.append(JSONMember("bos_token_id", .integer(bosID))) }
        if let eosID { members.append(JSONMember("eos_token_id", .integer(eosID))) }
        members.sort { $0.key < $1.key }
        return .object(members)
    }
}
