import LLMQCore
import LLMQFormats
import LLMQQuant

/// What `quantize` made: per tensor what it became and its error, and the totals (`llmq quantize --json`).
public struct QuantizeResult: Codable, Sendable {
    public struct Row: Codable, Sendable, Hashable {
        public var name: String
        public var shape: [Int]
        /// The source dtype and the written one.
        public var from: String
        public var to: String
        /// Raw bytes, and bytes as stored (smaller when zstd compressed them).
        public var bytes: Int
        public var storedBytes: Int
        public var rmse: Double?
        public var snrDB: Double?
        /// Why the tensor did not get the requested type (a fallback).
        public var reason: String?
    }

    public struct Totals: Codable, Sendable, Hashable {
        public var inputBytes: Int
        public var outputBytes: Int
        public var parameters: Int
        /// Stored tensor bits over all parameters, norms and fallbacks included.
        public var bitsPerWeight: Double
        public var seconds: Double
        public var megabytesPerSecond: Double
    }

    public var input: String
    public var output: String
    /// The written file's format, as `inspect` names it.
    public var format: String
    public var recipe: ContainerMetadata.Recipe
    /// In the input model's order, whatever order the output format stores them in.
    public var tensors: [Row]
    public var totals: Totals
    /// With `targetBPW`: what the budget gave each matrix.
    public var bitAllocation: BitAllocationResult?

    init(written: ConversionResult, file: Model, quantization: ContainerMetadata.Quantization, bitAllocation: BitAllocationResult?) {
        input = written.input
        output = written.output
        format = written.format
        recipe = quantization.recipe
        let stored = Dictionary(file.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        tensors = quantization.tensors.map { r in
            let t = stored[r.name]
            return Row(name: r.name, shape: r.shape, from: r.sourceDType, to: t?.dtype.description ?? r.dtype,
                       bytes: t?.byteCount ?? 0, storedBytes: t?.storedByteCount ?? 0, rmse: r.rmse, snrDB: r.snrDB, reason: r.reason)
        }
        let parameters = file.parameterCount
        let storedBytes = file.tensors.reduce(0) { $0 + $1.storedByteCount }
        totals = Totals(inputBytes: written.inputBytes, outputBytes: written.outputBytes, parameters: parameters,
                        bitsPerWeight: parameters > 0 ? Double(storedBytes * 8) / Double(parameters) : 0, seconds: written.seconds,
                        megabytesPerSecond: written.megabytesPerSecond)
        self.bitAllocation = bitAllocation
    }
}

/// `targetBPW`'s decisions: each matrix's type, and the divergence the sensitivities predict.
public struct BitAllocationResult: Codable, Sendable {
    public var targetBPW: Double
    /// One per matrix the budget could move, in model order.
    public var choices: [BitAllocation.Choice]

    /// The sum of the matrices' expected shares of the mean KL divergence.
    public var expectedKLD: Double { choices.reduce(0) { $0 + $1.estimatedKLD } }

    /// How many matrices got each type, widest first.
    public var typeCounts: [(type: DType, count: Int)] {
        Dictionary(grouping: choices, by: \.chosen).map { ($0.key, $0.value.count) }.sorted { $0.0.bitsPerWeight > $1.0.bitsPerWeight }
    }
}
