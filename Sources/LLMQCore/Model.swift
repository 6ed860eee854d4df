/// Which reader produced a model, for `inspect` and for choosing defaults.
public struct FileFormat: Sendable, Equatable, CustomStringConvertible {
    public var name: String       // "llama2c", "gguf", "safetensors", "llmq"
    public var version: Int?
    public var detail: String?    // e.g. "legacy raw parameters", "Q8_0 export"

    public init(name: String, version: Int? = nil, detail: String? = nil) {
        self.name = name
        self.version = version
        self.detail = detail
    }

    public var description: String {
        var s = name
        if let version { s += " v\(version)" }
        if let detail { s += " (\(detail))" }
        return s
    }
}

/// The one in-memory model every reader produces and every writer, quantizer and engine consumes:
/// a config, named tensors that stay memory-mapped until touched, and the tokenizer if the file has one.
public final class Model: @unchecked Sendable {
    public let format: FileFormat
    public let files: [MappedFile]
    public var config: ModelConfig
    /// In file order.
    public let tensors: [Tensor]
    public var tokenizer: TokenizerData?
    /// Format-specific key/values shown by `inspect` (GGUF metadata, safetensors `__metadata__`, …).
    public var metadata: [(key: String, value: String)]
    /// Non-tensor bytes, so that regions plus stored tensor bytes account for every file byte.
    public let regions: [Region]
    private let index: [String: Int]
    /// Decoded copies of tensors whose stored bytes are not their data (compressed, permuted).
    private let decoded = Locked<[String: UnsafeMutableRawBufferPointer]>([:])
    /// Tensors whose stored bytes passed their `verify` check; each is checked once per model.
    private let verified = Locked<Set<String>>([])

    public init(format: FileFormat, files: [MappedFile], config: ModelConfig, tensors: [Tensor],
                tokenizer: TokenizerData? = nil, metadata: [(key: String, value: String)] = [], regions: [Region] = []) throws {
        self.format = format
        self.files = files
        self.config = config
        self.tensors = tensors
        self.tokenizer = tokenizer
        self.metadata = metadata
        self.regions = regions
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() {
            guard index.updateValue(i, forKey: t.name) == nil else {
                throw LLMQError(.invalid, "tensor name appears twice", file: files.first?.path, tensor: t.name)
            }
        }
        self.index = index
    }

    deinit {
        decoded.withLock { cache in
            for buffer in cache.values { buffer.deallocate() }
        }
    }

    public var path: String { files.first?.path ?? "" }

    public subscript(name: String) -> Tensor? {
        index[name].map { tensors[$0] }
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let t = self[name] else { throw LLMQError(.invalid, "model has no tensor '\(name)'", file: path) }
        return t
    }

    /// The tensor's bytes, valid as long as the model lives. Mapped tensors cost nothing until their
    /// pages are touched; encoded ones are decoded once and kept.
    public func data(_ tensor: Tensor) throws -> UnsafeRawBufferPointer {
        let file = files[tensor.fileIndex]
        let stored = try file.slice(offset: tensor.offset, length: tensor.storedByteCount, what: "tensor '\(tensor.name)'")
        if let verify = tensor.verify, !verified.withLock({ $0.contains(tensor.name) }) {
            do { try verify(stored) } catch let e as LLMQError { throw e.forTensor(tensor.name).inFile(file.path) }
            verified.withLock { _ = $0.insert(tensor.name) }
        }
        guard let decode = tensor.decode else { return stored }
        if let hit = decoded.withLock({ $0[tensor.name] }) { return UnsafeRawBufferPointer(hit) }
        let bytes: [UInt8]
        do { bytes = try decode(stored) } catch let e as LLMQError { throw e.forTensor(tensor.name).inFile(file.path) }
        guard bytes.count == tensor.byteCount else {
            throw LLMQError(.integrity, "decodes to \(bytes.count) bytes, expected \(tensor.byteCount)", file: file.path, tensor: tensor.name)
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        let kept = decoded.withLock { cache -> UnsafeMutableRawBufferPointer in
            if let other = cache[tensor.name] { buffer.deallocate(); return other }
            cache[tensor.name] = buffer
            return buffer
        }
        return UnsafeRawBufferPointer(start: kept.baseAddress, count: bytes.count)
    }

    public func data(named name: String) throws -> UnsafeRawBufferPointer {
        try data(tensor(name))
    }

    /// Drops the decoded copy of a tensor and this process's pages of its stored bytes (streaming
    /// conversion touches each tensor once).
    public func release(_ tensor: Tensor) {
        decoded.withLock { cache in
            cache.removeValue(forKey: tensor.name)?.deallocate()
        }
        files[tensor.fileIndex].dropPages(offset: tensor.offset, length: tensor.storedByteCount)
    }

    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
    public var totalFileBytes: Int { files.reduce(0) { $0 + $1.count } }
}
