import LLMQCore

/// The model's tensors arranged for the forward pass. Tensors whose dtype has a kernel are used in
/// place (memory-mapped); others are expanded to fp32 once, here.
public final class TransformerWeights: @unchecked Sendable {
    public struct Layer: @unchecked Sendable {
        public let attnNorm: UnsafePointer<Float>   // (dim)
        public let wq: WeightMatrix                 // (n_heads * head_dim, dim)
        public let wk: WeightMatrix                 // (n_kv_heads * head_dim, dim)
        public let wv: WeightMatrix                 // (n_kv_heads * head_dim, dim)
        public let wo: WeightMatrix                 // (dim, n_heads * head_dim)
        public let ffnNorm: UnsafePointer<Float>    // (dim)
        public let gate: WeightMatrix               // (hidden, dim)   llama2.c w1
        public let down: WeightMatrix               // (dim, hidden)   llama2.c w2
        public let up: WeightMatrix                 // (hidden, dim)   llama2.c w3
        /// wq and wk are a Hugging Face checkpoint's rows as stored, each head's in rotate-half
        /// order, so the 2 × dim² projections need no permuted copy: RoPE takes its pairs from
        /// the halves and writes them interleaved (`Rope.apply`).
        public let rotateHalf: Bool
    }

    public let config: ModelConfig
    public let layers: [Layer]
    public let outputNorm: UnsafePointer<Float>     // (dim)
    public let classifier: WeightMatrix             // (vocab, dim)
    /// The embedding table in its stored dtype; rows are expanded one token at a time.
    public let embeddingDType: DType
    public let embeddingBytes: UnsafeRawBufferPointer
    /// Keeps the model (and so its memory map) alive while pointers into it are used.
    public let model: Model
    private var owned: [UnsafeMutableRawPointer] = []

    /// - Parameter native: which dtypes to leave as stored (Q and K in the stored row order when
    ///   both allow it); the rest become fp32.
    public init(model: Model, native: (DType) -> Bool = MatVec.supports) throws {
        try model.validateLlamaTensors()
        self.model = model
        self.config = model.config
        let c = model.config
        var ownedBuffers: [UnsafeMutableRawPointer] = []

        func matrix(_ name: String) throws -> WeightMatrix {
            let t = try model.tensor(name)
            let rows = t.rows, cols = t.cols
            if native(t.dtype) {
                let bytes = try model.data(t)
                return WeightMatrix(rows: rows, cols: cols, dtype: t.dtype, data: bytes.baseAddress!)
            }
            let values = try expand(t)
            return WeightMatrix(rows: rows, cols: cols, dtype: .f32, data: UnsafeRawPointer(values))
        }
        func vector(_ name: String) throws -> UnsafePointer<Float> {
            let t = try model.tensor(name)
            let bytes = try model.data(t)
            if t.dtype == .f32, Int(bitPattern: bytes.baseAddress) % 4 == 0 {
                return bytes.baseAddress!.assumingMemoryBound(to: Float.self)
            }
            return UnsafePointer(try expand(t))
        }
        func expand(_ t: Tensor) throws -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(t.elementCount, 1) * 4, alignment: 64)
            ownedBuffers.append(p)
            let floats = p.bindMemory(to: Float.self, capacity: t.elementCount)
            do {
                try Dequantize.elements(t.dtype, from: model.data(t), range: 0..<t.elementCount, into: floats)
            } catch let e as LLMQError {
                throw e.forTensor(t.name).inFile(model.path)
            }
            return floats
        }

        /// Q and K as stored when both are in rotate-half order and run natively, else canonical.
        func projections(_ q: String, _ k: String) throws -> (q: WeightMatrix, k: WeightMatrix, rotateHalf: Bool) {
            let tq = try model.tensor(q), tk = try model.tensor(k)
            let halves = Tensor.StoredRowOrder.rotateHalf(headDim: c.headDim)
            guard tq.storedRowOrder == halves, tk.storedRowOrder == halves, native(tq.dtype), native(tk.dtype) else {
                return (try matrix(q), try matrix(k), false)
            }
            func stored(_ t: Tensor) throws -> WeightMatrix {
                WeightMatrix(rows: t.rows, cols: t.cols, dtype: t.dtype, data: try model.storedData(t).baseAddress!)
            }
            return (try stored(tq), try stored(tk), true)
        }

        do {
            typealias T = CanonicalName.LayerTensor
            layers = try (0..<c.layerCount).map { l in
                let (wq, wk, rotateHalf) = try projections(CanonicalName.layer(l, T.attnQ), CanonicalName.layer(l, T.attnK))
                return Layer(attnNorm: try vector(CanonicalName.layer(l, T.attnNorm)),
                      wq: wq,
                      wk: wk,
                      wv: try matrix(CanonicalName.layer(l, T.attnV)),
                      wo: try matrix(CanonicalName.layer(l, T.attnOutput)),
                      ffnNorm: try vector(CanonicalName.layer(l, T.ffnNorm)),
                      gate: try matrix(CanonicalName.layer(l, T.ffnGate)),
                      down: try matrix(CanonicalName.layer(l, T.ffnDown)),
                      up: try matrix(CanonicalName.layer(l, T.ffnUp)),
                      rotateHalf: rotateHalf)
            }
            outputNorm = try vector(CanonicalName.outputNorm)
            classifier = try matrix(c.sharedClassifier ? CanonicalName.tokenEmbedding : CanonicalName.output)
            let embedding = try model.tensor(CanonicalName.tokenEmbedding)
            embeddingDType = embedding.dtype
            embeddingBytes = try model.data(embedding)
        } catch {
            for p in ownedBuffers { p.deallocate() }
            throw error
        }
        owned = ownedBuffers
    }

    deinit {
        for p in owned { p.deallocate() }
    }

    /// Writes token `token`'s embedding row (dim values) into `x`.
    public func embed(_ token: Int, into x: UnsafeMutablePointer<Float>) {
        let dim = config.dim
        // The shape was validated at load, so the range is inside the tensor and block-aligned.
        try! Dequantize.elements(embeddingDType, from: embeddingBytes, range: token * dim..<(token + 1) * dim, into: x)
    }
}
