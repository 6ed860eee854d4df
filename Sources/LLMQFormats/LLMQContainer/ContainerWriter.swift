import Foundation
import LLMQCore

/// Writes any `Model` as an llmq container, streaming: each tensor is produced (`Model.stream`, which
/// quantizes a lazy view a piece at a time), hashed, written and released before the next, so
/// peak memory is about one piece; a tensor to compress with zstd is produced whole. The table, tokenizer and metadata follow
/// the data, and the header is written last (`formats/llmq.md`, "Writing").
public enum LLMQContainerWriter {
    public struct Options: Sendable {
        /// zstd level for per-tensor compression; nil writes every tensor uncompressed.
        public var zstdLevel: Int?
        public var alignment: Int
        /// Threads zstd may use per tensor.
        public var threads: Int

        public init(zstdLevel: Int? = nil, alignment: Int = ContainerLayout.defaultAlignment, threads: Int? = nil) {
            self.zstdLevel = zstdLevel
            self.alignment = alignment
            self.threads = threads ?? ProcessInfo.processInfo.activeProcessorCount
        }
    }

    public struct Result: Sendable {
        public var entries: [ContainerEntry]
        public var header: ContainerHeader
        public var fileBytes: Int
    }

    /// - Parameters:
    ///   - metadata: called after the last tensor, so it can include what writing measured
    ///     (per-tensor quantization error).
    ///   - progress: tensors written so far, and the total.
    @discardableResult
    public static func write(_ model: Model, to path: String, options: Options = Options(),
                             metadata: () throws -> ContainerMetadata,
                             progress: (Int, Int) throws -> Void = { _, _ in }) throws -> Result {
        do {
            return try writeChecked(model, to: path, options: options, metadata: metadata, progress: progress)
        } catch let e as LLMQError {
            throw e.inFile(path)
        }
    }

    private static func writeChecked(_ model: Model, to path: String, options: Options, metadata: () throws -> ContainerMetadata,
                                     progress: (Int, Int) throws -> Void) throws -> Result {
        try validate(model, options)
        let out = try AtomicFileWriter(path: path, refusingToOverwrite: model.files.map(\.path))
        try out.writeZeros(ContainerLayout.headerBytes)
        var entries: [ContainerEntry] = []
        entries.reserveCapacity(model.tensors.count)
        for (i, t) in model.tensors.enumerated() {
            try out.align(to: options.alignment)
            entries.append(try writeTensor(model, t, options, offset: out.position, to: out))
            model.release(t)
            try progress(i + 1, model.tensors.count)
        }

        try out.align(to: ContainerLayout.sectionAlignment)
        let table = ContainerTable.encode(entries)
        let tableSection = ContainerHeader.Section(offset: out.position, length: table.count, xxh64: XXH64.hash(table))
        try out.write(table)
        try out.align(to: ContainerLayout.sectionAlignment)
        let tokenizer = model.tokenizer.map(ContainerTokenizer.encode) ?? []
        let tokenizerSection = ContainerHeader.Section(offset: out.position, length: tokenizer.count, xxh64: XXH64.hash(tokenizer))
        try out.write(tokenizer)
        try out.align(to: ContainerLayout.sectionAlignment)
        let json = try metadata().encoded()
        let metadataSection = ContainerHeader.Section(offset: out.position, length: json.count, xxh64: XXH64.hash(json))
        try out.write(json)

        let header = ContainerHeader(alignment: options.alignment, tensorCount: entries.count, fileLength: out.position,
                                     dataOffset: ContainerLayout.alignUp(ContainerLayout.headerBytes, options.alignment) ?? 0,
                                     table: tableSection, tokenizer: tokenizerSection, metadata: metadataSection)
        try out.patch(at: 0, header.encoded())
        let size = out.position
        try out.commit()
        return Result(entries: entries, header: header, fileBytes: size)
    }

    private static func writeTensor(_ model: Model, _ t: Tensor, _ options: Options, offset: Int, to out: AtomicFileWriter) throws -> ContainerEntry {
        guard options.zstdLevel != nil else {
            // Uncompressed: hashed and written a piece at a time.
            var hasher = XXH64(), written = 0
            try model.stream(t, rows: t.pieceRows()) { piece in
                hasher.update(piece)
                try out.write(piece)
                written += piece.count
            }
            guard written == t.byteCount else {
                throw LLMQError(.invalid, "has \(written) bytes of data, its \(t.dtype) shape \(t.shape) needs \(t.byteCount)", tensor: t.name)
            }
            return ContainerEntry(name: t.name, shape: t.shape, dtype: t.dtype, compression: .none, offset: offset, storedLength: written,
                                  rawLength: written, xxh64: hasher.digest())
        }
        let data = try model.data(t)
        guard data.count == t.byteCount else {
            throw LLMQError(.invalid, "has \(data.count) bytes of data, its \(t.dtype) shape \(t.shape) needs \(t.byteCount)", tensor: t.name)
        }
        func emit(_ stored: UnsafeRawBufferPointer, _ compression: ContainerEntry.Compression) throws -> ContainerEntry {
            let checksum = XXH64.hash(stored)
            try out.write(stored)
            return ContainerEntry(name: t.name, shape: t.shape, dtype: t.dtype, compression: compression, offset: offset,
                                  storedLength: stored.count, rawLength: data.count, xxh64: checksum)
        }
        if let level = options.zstdLevel, let compressed = try Zstd.compress(data, level: level, threads: options.threads) {
            return try compressed.withUnsafeBytes { try emit($0, .zstd) }
        }
        return try emit(data, .none)
    }

    /// Refuses, before the output exists, anything the format cannot hold.
    private static func validate(_ model: Model, _ options: Options) throws {
        let a = options.alignment
        guard ContainerLayout.alignmentRange.contains(a), a & (a - 1) == 0 else {
            throw LLMQError(.usage, "alignment \(a) is not a power of two in 64...\(1 << 20)")
        }
        if let level = options.zstdLevel, !Zstd.levels.contains(level) {
            throw LLMQError(.usage, "zstd level \(level) is outside \(Zstd.levels)")
        }
        for t in model.tensors {
            let nameBytes = t.name.utf8.count
            guard (1...ContainerLayout.maxNameBytes).contains(nameBytes), !t.name.utf8.contains(0) else {
                throw LLMQError(.unsupported, "tensor names must be 1...4096 bytes without NUL", tensor: t.name)
            }
            guard (1...ContainerLayout.maxDimensions).contains(t.shape.count), t.shape.allSatisfy({ (1...Int(Int32.max)).contains($0) }) else {
                throw LLMQError(.unsupported, "shape \(t.shape) needs 1...8 dimensions of 1...\(Int32.max)", tensor: t.name)
            }
            guard t.dtype.isValidBlockSize, t.dtype.byteCount(shape: t.shape) != nil else {
                throw LLMQError(.invalid, "shape \(t.shape) does not fit \(t.dtype)", tensor: t.name)
            }
        }
        if let tokenizer = model.tokenizer { try ContainerTokenizer.validateForWriting(tokenizer) }
    }
}
