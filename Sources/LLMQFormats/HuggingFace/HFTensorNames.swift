import LLMQCore

/// Hugging Face Llama tensor names ↔ llmq's canonical (GGUF) names (`formats/README.md`).
public enum HFTensorNames {
    static let embedding = "model.embed_tokens.weight"
    static let finalNorm = "model.norm.weight"
    static let classifier = "lm_head.weight"
    static let layerPrefix = "model.layers."

    /// The per-layer part of each name, after `model.layers.N.`.
    static let layerSuffix: [CanonicalName.LayerTensor: String] = [
        .attnNorm: "input_layernorm.weight",
        .attnQ: "self_attn.q_proj.weight",
        .attnK: "self_attn.k_proj.weight",
        .attnV: "self_attn.v_proj.weight",
        .attnOutput: "self_attn.o_proj.weight",
        .ffnNorm: "post_attention_layernorm.weight",
        .ffnGate: "mlp.gate_proj.weight",
        .ffnDown: "mlp.down_proj.weight",
        .ffnUp: "mlp.up_proj.weight",
    ]
    private static let byLayerSuffix = Dictionary(uniqueKeysWithValues: layerSuffix.map { ($0.value, $0.key) })

    public static func hfName(canonical name: String) -> String? {
        switch name {
        case CanonicalName.tokenEmbedding: return embedding
        case CanonicalName.outputNorm: return finalNorm
        case CanonicalName.output: return classifier
        default:
            // blk.N.<tensor>.weight
            let parts = name.split(separator: ".", maxSplits: 2)
            guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, parts[2].hasSuffix(".weight"),
                  let tensor = CanonicalName.LayerTensor(rawValue: String(parts[2].dropLast(".weight".count))),
                  let suffix = layerSuffix[tensor]
            else { return nil }
            return layerPrefix + "\(layer)." + suffix
        }
    }

    /// The canonical name and, for per-layer tensors, which one it is.
    public static func canonical(hfName name: String) -> (name: String, layerTensor: CanonicalName.LayerTensor?)? {
        switch name {
        case embedding: return (CanonicalName.tokenEmbedding, nil)
        case finalNorm: return (CanonicalName.outputNorm, nil)
        case classifier: return (CanonicalName.output, nil)
        default:
            guard name.hasPrefix(layerPrefix) else { return nil }
            let rest = name.dropFirst(layerPrefix.count)
            guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0, String(layer) == rest[..<dot],
                  let tensor = byLayerSuffix[String(rest[rest.index(after: dot)...])]
            else { return nil }
            return (CanonicalName.layer(layer, tensor), tensor)
        }
    }

    /// Tensors some Hugging Face checkpoints carry that the forward pass recomputes (RoPE frequencies).
    static func isIgnorable(_ name: String) -> Bool {
        name.hasPrefix(layerPrefix) && name.hasSuffix(".self_attn.rotary_emb.inv_freq")
    }
}
