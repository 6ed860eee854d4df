import LLMQCore

/// Reads GGUF files (`formats/gguf.md`) into a `Model`: the header is parsed and validated, the
/// config and tokenizer come from the metadata, tensors stay in the memory map. GGUF's `llama`
/// tensors already use llmq's names and interleaved Q/K rows, so nothing is permuted.
public enum GGUFReader {
    public static func read(path: String) throws -> Model {
        do { return try read(try MappedFile(path: path)) } catch let e as LLMQError { throw e.inFile(path) }
    }

    static func read(_ mapped: MappedFile) throws -> Model {
        let file = try GGUFFile(mapped.bytes)
        let config = try GGUFLlamaMetadata.config(file)
        let tokenizer = try GGUFTokenizerMetadata.tokenizer(file)
        let tensors = file.tensors.map {
            Tensor(name: $0.name, shape: $0.shape, dtype: $0.dtype, offset: $0.offset, storedByteCount: $0.byteCount)
        }
        return try Model(format: FileFormat(name: "gguf", version: Int(file.version)), files: [mapped], config: config,
                         tensors: tensors, tokenizer: tokenizer, metadata: file.metadata.map { ($0.key, $0.value.summary) },
                         regions: regions(file, fileSize: mapped.count))
    }

    /// Everything that is not tensor data: the header parts, alignment padding and trailing bytes.
    static func regions(_ file: GGUFFile, fileSize: Int) -> [Region] {
        var regions = [
            Region(name: "header", offset: 0, length: GGUF.headerBytes),
            Region(name: "metadata (\(file.metadata.count) keys)", offset: file.metadataRange.lowerBound, length: file.metadataRange.count),
            Region(name: "tensor infos (\(file.tensors.count))", offset: file.tensorInfoRange.lowerBound, length: file.tensorInfoRange.count),
        ]
        var position = file.tensorInfoRange.upperBound
        for t in file.tensors.sorted(by: { $0.offset < $1.offset }) where t.byteCount > 0 {
            if t.offset > position { regions.append(Region(name: "alignment padding", offset: position, length: t.offset - position)) }
            position = max(position, t.offset + t.byteCount)
        }
        if position < fileSize { regions.append(Region(name: "after the last tensor", offset: position, length: fileSize - position)) }
        return regions
    }
}
