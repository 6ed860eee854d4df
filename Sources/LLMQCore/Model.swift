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
        let stored = try storedData(tensor)
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

    /// The tensor's stored bytes (checked by its `verify` once), whether or not they need decoding:
    /// for consumers that understand the stored form (`Tensor.storedRowOrder`).
    public func storedData(_ tensor: Tensor) throws -> UnsafeRawBufferPointer {
        let file = files[tensor.fileIndex]
        let stored = try file.slice(offset: tensor.offset, length: tensor.storedByteCount, what: "tensor '\(tensor.name)'")
        if let verify = tensor.verify, !verified.withLock({ $0.contains(tensor.name) }) {
            do { try verify(stored) } catch let e as LLMQError { throw e.forTensor(tensor.name).inFile(file.path) }
            verified.withLock { _ = $0.insert(tensor.name) }
        }
        return stored
    }

    public func data(named name: String) throws -> UnsafeRawBufferPointer {
        try data(tensor(name))
    }

    /// Hands the tensor's bytes to `sink` in consecutive pieces of whole rows (about `rows` each),
    /// so a streaming writer holds one piece instead of the tensor: a tensor with a `stream` is
    /// produced piece by piece, a mapped one is sliced and its pages are dropped behind the
    /// reader, and any other is decoded whole first (and kept until `release`).
    public func stream(_ tensor: Tensor, rows: Int, _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let file = files[tensor.fileIndex]
        let stored = try file.slice(offset: tensor.offset, length: tensor.storedByteCount, what: "tensor '\(tensor.name)'")
        let cached = decoded.withLock { $0[tensor.name] }
        // Blocks that run across rows (llama2.c's int8 groups) cannot be cut at rows: one piece.
        if tensor.dtype.type.spansRows { return try sink(try data(tensor)) }
        guard cached == nil, tensor.decode == nil || tensor.stream != nil else {
            return try Self.slices(try data(tensor), rowBytes: tensor.rowBytes, rows: rows, sink)
        }
        if let verify = tensor.verify, !verified.withLock({ $0.contains(tensor.name) }) {
            do { try verify(stored) } catch let e as LLMQError { throw e.forTensor(tensor.name).inFile(file.path) }
            verified.withLock { _ = $0.insert(tensor.name) }
        }
        // Stored bytes run in the order of the rows they hold (plain, permuted within heads):
        // drop the pages of the share already produced.
        let total = max(tensor.rows, 1), rowBytes = tensor.rowBytes
        var produced = 0, dropped = 0
        // The sink's own errors (a full disk) are the writer's, not this tensor's: passed on untagged.
        var sinkFailed = false
        func emit(_ piece: UnsafeRawBufferPointer) throws {
            guard rowBytes == 0 || piece.count % rowBytes == 0 else {
                throw LLMQError(.integrity, "a piece of \(piece.count) bytes is not whole rows of \(rowBytes)", file: file.path, tensor: tensor.name)
            }
            do { try sink(piece) } catch {
                sinkFailed = true
                throw error
            }
            produced += rowBytes > 0 ? piece.count / rowBytes : 1
            let done = stored.count / total * min(produced, total)
            if done > dropped, stored.count > 0 {
                file.dropPages(offset: tensor.offset + dropped, length: done - dropped)
                dropped = done
            }
        }
        do {
            if let stream = tensor.stream {
                try stream(stored, max(1, rows), emit)
            } else {
                try Self.slices(stored, rowBytes: rowBytes, rows: rows, emit)
            }
        } catch let e as LLMQError where !sinkFailed {
            throw e.forTensor(tensor.name).inFile(file.path)
        }
        guard rowBytes == 0 || produced == tensor.rows else {
            throw LLMQError(.integrity, "streamed \(produced) rows, expected \(tensor.rows)", file: file.path, tensor: tensor.name)
        }
    }

    private static func slices(_ bytes: UnsafeRawBufferPointer, rowBytes: Int, rows: Int,
                               _ sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let step = max(1, rows) * max(rowBytes, 1)
        var start = 0
        repeat {
            let end = min(bytes.count, start + step)
            try sink(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
            start = end
        } while start < bytes.count
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
