import LLMQCore

/// An opened container: the model plus the structures `inspect` and `--check` show.
public struct ContainerFile: Sendable {
    public let model: Model
    public let header: ContainerHeader
    public let entries: [ContainerEntry]
    public let metadata: ContainerMetadata
    /// The zero-filled gaps the canonical layout leaves (also listed in `model.regions`).
    public let padding: [Region]
}

/// Reads llmq containers (`formats/llmq.md`). Opening validates the header, layout, table,
/// tokenizer and metadata with their checksums; tensor data stays mapped and each tensor's checksum
/// is verified on its first use (`Model.data`), before any byte of it is trusted.
public enum LLMQContainerReader {
    public static func read(path: String) throws -> Model {
        try open(path: path).model
    }

    public static func open(path: String) throws -> ContainerFile {
        let file = try MappedFile(path: path)
        do {
            return try open(file)
        } catch let e as LLMQError {
            throw e.inFile(path)
        }
    }

    static func open(_ file: MappedFile) throws -> ContainerFile {
        let bytes = file.bytes
        let header = try ContainerHeader.decode(bytes)
        try header.validateSections(fileSize: file.count)
        _ = try section(header.table, "tensor table", in: file)
        let entries = try ContainerTable.decode(bytes, header: header)
        for e in entries where e.compression == .zstd {
            do {
                try Zstd.checkFrame(try file.slice(offset: e.offset, length: e.storedLength, what: "tensor"), rawLength: e.rawLength)
            } catch let error as LLMQError {
                throw LLMQError(.invalid, error.message, offset: e.offset, tensor: e.name)
            }
        }
        let tokenizerBytes = try section(header.tokenizer, "tokenizer", in: file)
        let tokenizer = header.tokenizer.length > 0 ? try ContainerTokenizer.decode(tokenizerBytes, base: header.tokenizer.offset) : nil
        let metadataBytes = try section(header.metadata, "metadata", in: file)
        let metadata = try ContainerMetadata.decode(metadataBytes, base: header.metadata.offset, entries: entries)
        if let tokenizer, tokenizer.count != metadata.config.vocabSize {
            throw LLMQError(.invalid, "the tokenizer has \(tokenizer.count) tokens, the config's vocabulary \(metadata.config.vocabSize)",
                            offset: header.tokenizer.offset + 4)
        }

        let (regions, padding) = layoutRegions(header, entries)
        let tensors = entries.map(tensor)
        let model = try Model(format: FileFormat(name: "llmq", version: Int(ContainerLayout.version), detail: summary(entries)),
                              files: [file], config: metadata.config, tensors: tensors, tokenizer: tokenizer,
                              metadata: displayMetadata(metadata), regions: regions)
        return ContainerFile(model: model, header: header, entries: entries, metadata: metadata, padding: padding)
    }

    /// A section's bytes after checking them against their header checksum.
    private static func section(_ s: ContainerHeader.Section, _ name: String, in file: MappedFile) throws -> UnsafeRawBufferPointer {
        let bytes = try file.slice(offset: s.offset, length: s.length, what: name)
        let actual = XXH64.hash(bytes)
        guard actual == s.xxh64 else {
            throw LLMQError(.integrity, "\(name) checksum mismatch (header says \(XXH64.hex(s.xxh64)), the \(s.length) bytes at \(s.offset) hash to \(XXH64.hex(actual))): the \(name) is corrupt",
                            offset: s.offset)
        }
        return bytes
    }

    /// Each tensor checks its stored bytes against the table on first use; zstd tensors decompress then.
    static func tensor(_ e: ContainerEntry) -> Tensor {
        let expected = e.xxh64, raw = e.rawLength
        let verify: @Sendable (UnsafeRawBufferPointer) throws -> Void = { stored in
            let actual = XXH64.hash(stored)
            guard actual == expected else {
                throw LLMQError(.integrity, "checksum mismatch: the \(stored.count) stored bytes hash to \(XXH64.hex(actual)), the table says \(XXH64.hex(expected)) — the tensor's data is corrupt")
            }
        }
        var decode: (@Sendable (UnsafeRawBufferPointer) throws -> [UInt8])?
        if e.compression == .zstd {
            decode = { @Sendable stored in try Zstd.decompress(stored, rawLength: raw) }
        }
        return Tensor(name: e.name, shape: e.shape, dtype: e.dtype, offset: e.offset, storedByteCount: e.storedLength,
                      encoding: e.compression == .zstd ? "zstd" : nil, decode: decode, verify: verify)
    }

    /// Every non-tensor byte: the header, the sections and the zero padding between them.
    static func layoutRegions(_ h: ContainerHeader, _ entries: [ContainerEntry]) -> (regions: [Region], padding: [Region]) {
        var regions = [Region(name: "header", offset: 0, length: ContainerLayout.headerBytes)]
        var padding: [Region] = []
        var cursor = ContainerLayout.headerBytes
        func gap(upTo offset: Int, _ name: String) {
            if offset > cursor {
                let r = Region(name: "padding \(name)", offset: cursor, length: offset - cursor)
                regions.append(r)
                padding.append(r)
            }
        }
        var previous = "header"
        for e in entries {
            gap(upTo: e.offset, "after \(previous)")
            cursor = e.offset + e.storedLength
            previous = "tensor '\(e.name)'"
        }
        for (name, s) in [("tensor table", h.table), ("tokenizer", h.tokenizer), ("metadata", h.metadata)] where s.length > 0 {
            gap(upTo: s.offset, "after \(previous)")
            regions.append(Region(name: name, offset: s.offset, length: s.length))
            cursor = s.end
            previous = name
        }
        return (regions, padding)
    }

    /// "q4_0 ×35, f32 ×11, zstd ×10" — what the tensors are stored as.
    static func summary(_ entries: [ContainerEntry]) -> String {
        var counts: [String: Int] = [:]
        for e in entries { counts[e.dtype.description, default: 0] += 1 }
        var parts = counts.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) ×\($0.value)" }
        let compressed = entries.filter { $0.compression == .zstd }.count
        if compressed > 0 { parts.append("zstd ×\(compressed)") }
        return parts.joined(separator: ", ")
    }

    /// The metadata as the one-line key/values `inspect` lists.
    static func displayMetadata(_ m: ContainerMetadata) -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = [("tool", "\(m.tool.name) \(m.tool.version)")]
        if let c = m.created {
            out.append(("created", ([c.command] + c.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")))
        }
        if let s = m.source {
            out.append(("source", s.format))
            for (i, f) in s.files.enumerated() {
                out.append(("source.file\(s.files.count > 1 ? String(i) : "")", "\(f.name), \(f.bytes) bytes, xxh64 \(f.xxh64)"))
            }
        }
        if let q = m.quantization {
            let rules = q.recipe.rules.map { "\($0.pattern)=\($0.type)" }
            out.append(("quantization.recipe", ([q.recipe.type] + (q.recipe.group.map { ["group \($0)"] } ?? []) + rules).joined(separator: ", ")))
            let fallbacks = q.tensors.filter { $0.reason != nil }.count
            if fallbacks > 0 { out.append(("quantization.exceptions", "\(fallbacks) tensors not at \(q.recipe.type), each with its reason (see the recipe table)")) }
        }
        for (k, v) in m.extra.sorted(by: { $0.key < $1.key }) { out.append(("extra.\(k)", v)) }
        return out
    }
}
