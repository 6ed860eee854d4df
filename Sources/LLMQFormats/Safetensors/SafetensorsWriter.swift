import LLMQCore

/// Writes Llama models as safetensors (`formats/safetensors.md`), streaming tensor by tensor
/// through `AtomicFileWriter`. Within each file tensors are ordered as the reference writer orders
/// them (wider dtypes first, then by name), so every tensor is aligned to its element size and a
/// file matches what `safetensors.save_file` writes for the same tensors and metadata.
public enum SafetensorsWriter {
    public enum Layout: Sendable {
        /// Hugging Face names (`model.layers.N.…`) and rotate-half Q/K rows.
        case huggingFace
        /// llmq's canonical (GGUF) names and interleaved Q/K rows, as llmq holds them.
        case canonical
    }

    public struct Options: Sendable {
        public var layout: Layout
        /// Element type of every weight; nil keeps f32, f16 and bf16 tensors as they are and
        /// expands other types (block-quantized) to f32.
        public var floatType: DType?
        /// Split into shards of at most this many data bytes (a larger tensor gets a shard of its
        /// own) with a `.index.json`; nil writes a single file.
        public var maxShardBytes: Int?

        public init(layout: Layout = .huggingFace, floatType: DType? = nil, maxShardBytes: Int? = nil) {
            self.layout = layout
            self.floatType = floatType
            self.maxShardBytes = maxShardBytes
        }
    }

    /// A self-contained file: the config (`llmq.config`, config.json's fields) and the tokenizer
    /// (`llmq.tokenizer`) travel in `__metadata__`. With `maxShardBytes`, `path` names the
    /// shards (`x-00001-of-00002.safetensors`) and the index (`x.safetensors.index.json`).
    public static func write(_ model: Model, to path: String, options: Options = Options(),
                             progress: (Int, Int) throws -> Void = { _, _ in }) throws {
        let view = try SafetensorsView.make(model, layout: options.layout, floatType: options.floatType)
        var metadata: [(key: String, value: String)] = [("format", "pt")]
        let torchDType = torchDTypeName(view)
        metadata.append((SafetensorsReader.configKey,
                         HFConfig.json(model.config, torchDType: torchDType, bosID: model.tokenizer?.bosID, eosID: model.tokenizer?.eosID).serialized))
        let base = path.hasSuffix(".safetensors") ? String(path.dropLast(".safetensors".count)) : path
        try writeFiles(view, base: base, metadata: metadata, inputs: model.files.map(\.path), maxShardBytes: options.maxShardBytes,
                       progress: progress)
    }

    /// Writes `view`'s tensors to `base.safetensors`, or to shards of `base` plus an index. The first
    /// file's metadata also carries the tokenizer.
    static func writeFiles(_ view: Model, base: String, metadata: [(key: String, value: String)], inputs: [String], maxShardBytes: Int?,
                           progress: (Int, Int) throws -> Void) throws {
        let shards = plan(view.tensors, maxShardBytes: maxShardBytes)
        let directory = HFDirectory.directory(of: base)
        let baseName = String(base.dropFirst(directory.count))
        let names = shards.count == 1 ? [baseName + ".safetensors"]
            : (1...shards.count).map { "\(baseName)-\(fiveDigits($0))-of-\(fiveDigits(shards.count)).safetensors" }
        let indexPath = base + ".safetensors.index.json"
        for output in names.map({ directory + $0 }) + [indexPath] {
            if let input = inputs.first(where: { AtomicFileWriter.sameFile($0, output) }) {
                throw LLMQError(.usage, "refusing to overwrite the input file \(input)", file: output)
            }
        }
        var done = 0
        for (i, shard) in shards.enumerated() {
            var fileMetadata = metadata
            if i == 0, let tokenizer = view.tokenizer { fileMetadata.append((TokenizerMetadata.key, TokenizerMetadata.encode(tokenizer))) }
            try writeFile(view, shard, metadata: fileMetadata, to: directory + names[i], inputs: inputs) {
                done += 1
                try progress(done, view.tensors.count)
            }
        }
        if shards.count > 1 {
            var weightMap = zip(shards, names).flatMap { shard, name in shard.map { JSONMember($0.name, .string(name)) } }
            weightMap.sort { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
            let index = JSONValue.object([
                JSONMember("metadata", .object([JSONMember("total_size", .integer(view.tensors.reduce(0) { $0 + $1.byteCount }))])),
                JSONMember("weight_map", .object(weightMap)),
            ])
            try writeText(index.pretty, to: indexPath, inputs: inputs)
        }
        // A stale index or single file would shadow (or be shadowed by) what was just written.
        let stale = shards.count == 1 ? indexPath : base + ".safetensors"
        if !inputs.contains(where: { AtomicFileWriter.sameFile($0, stale) }) { HFDirectory.remove(stale) }
    }

    /// Consecutive groups of tensors of at most `maxShardBytes` data bytes each.
    private static func plan(_ tensors: [Tensor], maxShardBytes: Int?) -> [[Tensor]] {
        guard let limit = maxShardBytes else { return [tensors] }
        var shards: [[Tensor]] = [[]]
        var size = 0
        for t in tensors {
            if !shards[shards.count - 1].isEmpty, size + t.byteCount > limit {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(t)
            size += t.byteCount
        }
        return shards
    }

    private static func writeFile(_ view: Model, _ tensors: [Tensor], metadata: [(key: String, value: String)], to path: String,
                                  inputs: [String], wrote: () throws -> Void) throws {
        let ordered = tensors.sorted { a, b in
            let ra = SafetensorsDType.alignmentRank(a.dtype), rb = SafetensorsDType.alignmentRank(b.dtype)
            return ra != rb ? ra > rb : Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
        var entries: [SafetensorsHeader.Entry] = []
        var offset = 0
        for t in ordered {
            entries.append(SafetensorsHeader.Entry(name: t.name, dtype: t.dtype, shape: t.shape, begin: offset, end: offset + t.byteCount))
            offset += t.byteCount
        }
        let header: [UInt8]
        do { header = try SafetensorsHeader.encode(entries, metadata: metadata) } catch let e as LLMQError { throw e.inFile(path) }
        let out = try AtomicFileWriter(path: path, refusingToOverwrite: inputs)
        try out.write(UInt64(header.count))
        try out.write(header)
        for t in ordered {
            var written = 0
            try view.stream(t, rows: t.pieceRows()) { piece in
                try out.write(piece)
                written += piece.count
            }
            guard written == t.byteCount else {
                throw LLMQError(.integrity, "has \(written) bytes, expected \(t.byteCount)", file: path, tensor: t.name)
            }
            view.release(t)
            try wrote()
        }
        try out.commit()
    }

    static func writeText(_ text: String, to path: String, inputs: [String]) throws {
        let out = try AtomicFileWriter(path: path, refusingToOverwrite: inputs)
        try out.write(Array(text.utf8))
        try out.commit()
    }

    /// config.json's `torch_dtype`: the type of the weights (the embedding's, as all share it).
    static func torchDTypeName(_ view: Model) -> String {
        let dtype = view.tensors.first?.dtype
        return dtype == .f16 ? "float16" : dtype == .bf16 ? "bfloat16" : "float32"
    }

    private static func fiveDigits(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 5 - s.count)) + s
    }
}
