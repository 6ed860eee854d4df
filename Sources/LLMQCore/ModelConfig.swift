/// Everything the Llama forward pass needs to know about a model's shape.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// Width of the residual stream (embedding length).
    public var dim: Int
    /// Width of the SwiGLU feed-forward layer.
    public var hiddenDim: Int
    public var layerCount: Int
    public var headCount: Int
    /// Fewer than `headCount` means grouped-query attention.
    public var kvHeadCount: Int
    public var vocabSize: Int
    /// Longest sequence the model was trained for (the KV cache size).
    public var contextLength: Int
    /// RoPE frequency base: 10000 in llama2.c, 100000 in SmolLM2.
    public var ropeTheta: Float
    public var normEpsilon: Float
    /// The classifier reuses the token embedding matrix (no `output.weight`).
    public var sharedClassifier: Bool

    public init(dim: Int, hiddenDim: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
                vocabSize: Int, contextLength: Int, ropeTheta: Float = 10000, normEpsilon: Float = 1e-5,
                sharedClassifier: Bool = true) {
        self.dim = dim
        self.hiddenDim = hiddenDim
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.normEpsilon = normEpsilon
        self.sharedClassifier = sharedClassifier
    }

    public var headDim: Int { dim / headCount }
    /// Width of the key and value projections.
    public var kvDim: Int { headDim * kvHeadCount }

    /// Rejects shapes no forward pass can run and sizes no file could hold.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw LLMQError(.invalid, message) }
        }
        let limit = 1 << 24
        for (name, v) in [("dim", dim), ("hidden_dim", hiddenDim), ("n_layers", layerCount), ("n_heads", headCount),
                          ("n_kv_heads", kvHeadCount), ("vocab_size", vocabSize), ("seq_len", contextLength)] {
            try check(v > 0 && v <= limit, "\(name) = \(v) is out of range 1...\(limit)")
        }
        try check(dim % headCount == 0, "dim \(dim) is not a multiple of n_heads \(headCount)")
        try check(headDim % 2 == 0, "head size \(headDim) is odd; RoPE rotates pairs")
        try check(kvHeadCount <= headCount && headCount % kvHeadCount == 0,
                  "n_heads \(headCount) is not a multiple of n_kv_heads \(kvHeadCount)")
        try check(ropeTheta.isFinite && ropeTheta > 0, "rope base \(ropeTheta) is not positive")
        try check(normEpsilon.isFinite && normEpsilon >= 0, "norm epsilon \(normEpsilon) is not valid")
    }
}
