/// What `inspect` shows: where every byte of a model file goes. Built from a `Model`, encodable as JSON.
public struct ModelReport: Codable, Sendable {
    public struct TensorEntry: Codable, Sendable {
        public var name: String
        public var shape: [Int]
        public var dtype: String
        public var elements: Int
        /// Bytes of the data once decoded (raw size).
        public var bytes: Int
        /// Bytes the file spends on it (differs when compressed).
        public var storedBytes: Int
        public var offset: Int
        public var end: Int
        public var file: Int
        public var encoding: String?
        public var bitsPerWeight: Double
    }

    public var path: String
    public var format: String
    public var formatName: String
    public var formatVersion: Int?
    public var fileBytes: Int
    public var files: [String]
    public var config: ModelConfig
    public var tensors: [TensorEntry]
    public var regions: [Region]
    public var metadata: [String: String]
    public var tokenizer: TokenizerSummary?
    public var totals: Totals

    public struct TokenizerSummary: Codable, Sendable {
        public var kind: String
        public var tokens: Int
        public var merges: Int
        public var bos: Int
        public var eos: Int
    }

    public struct Totals: Codable, Sendable {
        public var parameters: Int
        public var tensorBytes: Int
        public var storedTensorBytes: Int
        public var otherBytes: Int
        /// Stored tensor bytes plus regions equals the file size.
        public var accountedBytes: Int
        public var bitsPerWeight: Double
        public var byDType: [String: Int]
    }

    public init(_ model: Model) {
        path = model.path
        format = model.format.description
        formatName = model.format.name
        formatVersion = model.format.version
        fileBytes = model.totalFileBytes
        files = model.files.map(\.path)
        config = model.config
        tensors = model.tensors.map { t in
            TensorEntry(name: t.name, shape: t.shape, dtype: t.dtype.description, elements: t.elementCount, bytes: t.byteCount,
                        storedBytes: t.storedByteCount, offset: t.offset, end: t.offset + t.storedByteCount, file: t.fileIndex,
                        encoding: t.encoding, bitsPerWeight: t.elementCount > 0 ? Double(t.storedByteCount * 8) / Double(t.elementCount) : 0)
        }
        regions = model.regions
        metadata = Dictionary(model.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        tokenizer = model.tokenizer.map {
            TokenizerSummary(kind: $0.kind.rawValue, tokens: $0.count, merges: $0.merges.count, bos: $0.bosID, eos: $0.eosID)
        }
        let parameters = model.parameterCount
        let stored = model.tensors.reduce(0) { $0 + $1.storedByteCount }
        let other = model.regions.reduce(0) { $0 + $1.length }
        var byDType: [String: Int] = [:]
        for t in model.tensors { byDType[t.dtype.description, default: 0] += t.elementCount }
        totals = Totals(parameters: parameters, tensorBytes: model.tensors.reduce(0) { $0 + $1.byteCount }, storedTensorBytes: stored,
                        otherBytes: other, accountedBytes: stored + other,
                        bitsPerWeight: parameters > 0 ? Double(stored * 8) / Double(parameters) : 0, byDType: byDType)
    }
}
