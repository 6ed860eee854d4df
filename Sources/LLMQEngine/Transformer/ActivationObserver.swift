import LLMQCore

/// The input vectors of one group of matrix products: every matrix that multiplies the same
/// activation (Q, K and V share the attention norm's output; gate and up the FFN norm's).
public enum MatmulInput: Sendable, Hashable {
    /// attn_norm(x): the input of attn_q, attn_k, attn_v.
    case attention(layer: Int)
    /// The attention heads' concatenated output: the input of attn_output.
    case attentionOutput(layer: Int)
    /// ffn_norm(x): the input of ffn_gate, ffn_up.
    case feedForward(layer: Int)
    /// silu(gate) · up: the input of ffn_down.
    case feedForwardDown(layer: Int)
    /// output_norm(x): the input of the classifier.
    case classifier

    /// Canonical names of the matrices this input multiplies.
    public func tensorNames(_ config: ModelConfig) -> [String] {
        typealias T = CanonicalName.LayerTensor
        switch self {
        case .attention(let l): return [T.attnQ, T.attnK, T.attnV].map { CanonicalName.layer(l, $0) }
        case .attentionOutput(let l): return [CanonicalName.layer(l, T.attnOutput)]
        case .feedForward(let l): return [T.ffnGate, T.ffnUp].map { CanonicalName.layer(l, $0) }
        case .feedForwardDown(let l): return [CanonicalName.layer(l, T.ffnDown)]
        case .classifier: return [config.sharedClassifier ? CanonicalName.tokenEmbedding : CanonicalName.output]
        }
    }
}

/// Sees the input of every matrix product a forward pass makes, before the product: calibration
/// collects activation statistics through it. Called on the forward pass's thread, never
/// concurrently; the vectors are valid only during the call.
public protocol ActivationObserver: AnyObject {
    /// `rows` input vectors of `width` values, row-major at `x` (one row per position).
    func observe(_ input: MatmulInput, _ x: UnsafePointer<Float>, rows: Int, width: Int)
}
