/// llmq names tensors as GGUF does (`formats/README.md`), so the names in `inspect`, in recipes
/// and in llama.cpp's tools agree. Shapes are outermost first: `[out features, in features]`.
public enum CanonicalName {
    public static let tokenEmbedding = "token_embd.weight"      // [vocab, dim]
    public static let outputNorm = "output_norm.weight"         // [dim]
    public static let output = "output.weight"                  // [vocab, dim]; absent when shared

    public enum LayerTensor: String, CaseIterable, Sendable {
        case attnNorm = "attn_norm"     // [dim]
        case attnQ = "attn_q"           // [n_heads * head_dim, dim]
        case attnK = "attn_k"           // [n_kv_heads * head_dim, dim]
        case attnV = "attn_v"           // [n_kv_heads * head_dim, dim]
        case attnOutput = "attn_output" // [dim, n_heads * head_dim]
        case ffnNorm = "ffn_norm"       // [dim]
        case ffnGate = "ffn_gate"       // [hidden, dim]   (llama2.c w1)
        case ffnDown = "ffn_down"       // [dim, hidden]   (llama2.c w2)
        case ffnUp = "ffn_up"           // [hidden, dim]   (llama2.c w3)

        public func shape(_ c: ModelConfig) -> [Int] {
            switch self {
            case .attnNorm, .ffnNorm: [c.dim]
            case .attnQ: [c.headCount * c.headDim, c.dim]
            case .attnK, .attnV: [c.kvDim, c.dim]
            case .attnOutput: [c.dim, c.headCount * c.headDim]
            case .ffnGate, .ffnUp: [c.hiddenDim, c.dim]
            case .ffnDown: [c.dim, c.hiddenDim]
            }
        }

        public var isNorm: Bool { self == .attnNorm || self == .ffnNorm }
    }

    public static func layer(_ index: Int, _ tensor: LayerTensor) -> String {
        "blk.\(index).\(tensor.rawValue).weight"
    }

    /// Every tensor a Llama model of this config has, with its shape, in GGUF's usual order.
    public static func expectedTensors(_ c: ModelConfig) -> [(name: String, shape: [Int])] {
        var list: [(String, [Int])] = []
        forEachExpectedTensor(c) { list.append(($0, $1)) }
        return list
    }

    /// The same tensors one at a time, so a check can stop at the first one missing without
    /// building the list a hostile config's layer count asks for (32 769 layers: 295 000 names).
    public static func forEachExpectedTensor(_ c: ModelConfig, _ body: (String, [Int]) throws -> Void) rethrows {
        try body(tokenEmbedding, [c.vocabSize, c.dim])
        for l in 0..<c.layerCount {
            for t in LayerTensor.allCases { try body(layer(l, t), t.shape(c)) }
        }
        try body(outputNorm, [c.dim])
        if !c.sharedClassifier { try body(output, [c.vocabSize, c.dim]) }
    }

    /// Whether a model of this config has a tensor of this name (without listing them all).
    public static func isExpected(_ name: String, _ c: ModelConfig) -> Bool {
        if name == tokenEmbedding || name == outputNorm { return true }
        if name == output { return !c.sharedClassifier }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight", let l = Int(parts[1]), String(l) == parts[1],
              (0..<c.layerCount).contains(l) else { return false }
        return LayerTensor(rawValue: String(parts[2])) != nil
    }

    public static func isNorm(_ name: String) -> Bool {
        name.hasSuffix("_norm.weight")
    }
}

extension Model {
    /// Checks that every tensor the forward pass needs exists with the right shape, so engines and
    /// writers can index without further checks.
    public func validateLlamaTensors() throws {
        try CanonicalName.forEachExpectedTensor(config) { name, shape in
            let t = try tensor(name)
            guard t.shape == shape else {
                throw LLMQError(.invalid, "has shape \(t.shape), expected \(shape) for this config", file: path, tensor: name)
            }
        }
    }
}
