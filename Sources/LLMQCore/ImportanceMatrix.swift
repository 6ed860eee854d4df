
/// How much each input channel of each weight matrix matters, measured on calibration text: for a
/// matrix W of shape [rows, cols] applied as y = W·x, the error a quantized row adds to its output
/// is Σⱼ Δwⱼ·xⱼ, whose mean square over the text is Σⱼ Δwⱼ²·E[xⱼ²] when the channels are
/// uncorrelated. So E[xⱼ²] (the mean squared activation of input column j) is the weight each
/// column's squared rounding error deserves — the idea behind llama.cpp's imatrix and AWQ.
/// `formats/imatrix.md` describes the file that stores it.
public struct ImportanceMatrix: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        /// Σ xⱼ² over every input vector seen, per input column (cols values).
        public var sumSquares: [Float]
        /// Input vectors seen (tokens).
        public var count: Int

        public init(sumSquares: [Float], count: Int) {
            self.sumSquares = sumSquares
            self.count = count
        }

        /// E[xⱼ²] per input column.
        public var meanSquares: [Float] {
            let scale = count > 0 ? 1 / Float(count) : 0
            return sumSquares.map { $0 * scale }
        }
    }

    /// By weight tensor name (`blk.0.attn_q.weight`); matrices that share an input each have a copy.
    public var entries: [String: Entry]
    /// The calibration texts, as given.
    public var datasets: [String]
    /// Chunks of `chunkSize` tokens the statistics were collected over.
    public var chunkCount: Int
    public var chunkSize: Int
    /// By weight tensor name: the tensor's share of the mean KL divergence the model's predictions
    /// gain when its unit (`BitAllocation.unit(of:)`) alone is quantized with
    /// `BitAllocation.measurementRecipe()` — what `--target-bpw` spends bits by. Empty when not measured.
    public var sensitivities: [String: Double]

    public init(entries: [String: Entry], datasets: [String], chunkCount: Int, chunkSize: Int, sensitivities: [String: Double] = [:]) {
        self.entries = entries
        self.datasets = datasets
        self.chunkCount = chunkCount
        self.chunkSize = chunkSize
        self.sensitivities = sensitivities
    }

    public subscript(name: String) -> Entry? { entries[name] }

    /// Per-column weights for quantizing `tensor`: its E[xⱼ²], or nil when the matrix was not
    /// observed. A matrix whose width does not match is an error (the statistics are of another model).
    public func columnWeights(for tensor: Tensor) throws -> [Float]? {
        guard let entry = entries[tensor.name] else { return nil }
        guard entry.sumSquares.count == tensor.cols else {
            throw LLMQError(.invalid, "the importance matrix has \(entry.sumSquares.count) columns for this tensor, which has \(tensor.cols); it was collected on another model",
                            tensor: tensor.name)
        }
        guard entry.count > 0 else { return nil }
        return entry.meanSquares
    }
}
