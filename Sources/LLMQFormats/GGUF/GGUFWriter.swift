import LLMQCore

/// Writes a `Model` as a GGUF v3 `llama` file that llama.cpp loads without side files: the
/// `llama.*` config keys, the `tokenizer.ggml.*` vocabulary, then every tensor aligned to 32 bytes.
///
/// Tensors whose dtype is a ggml type (f32, f16, bf16, q8_0, q4_0, q4_1, q5_*, k-quants) are
/// copied byte for byte; any other dtype (llama2.c int8 groups, non-ggml group sizes) is expanded
/// to f32. The file is streamed a piece of a tensor at a time (`Model.stream`) and renamed into
/// place only when complete.
public enum GGUFWriter {
    public static let alignment = GGUF.defaultAlignment

    /// - Parameters:
    ///   - name: `general.name`; defaults to the source file's name without its extension.
    ///   - fileType: `general.file_type`; nil derives it from the dtype holding most matrix elements.
    ///   - text: further string keys, after the `general.*` ones.
    public static func write(_ model: Model, to path: String, name: String? = nil, fileType: UInt32? = nil,
                             text: [(key: String, value: String)] = [], progress: (Int, Int) throws -> Void = { _, _ in }) throws {
        try model.validateLlamaTensors()
        let plan = try order(model).map { t -> (tensor: Tensor, typeID: UInt32, bytes: Int) in
            if let id = GGMLType.id(for: t.dtype) { return (t, id, t.byteCount) }
            return (t, 0, try Checked.mul(t.elementCount, 4, what: "tensor '\(t.name)' as f32"))
        }
        var metadata: [(String, GGUFValue)] = [
            (GGUFKey.architecture, .text("llama")),
            (GGUFKey.name, .text(name ?? defaultName(model.path))),
        ]
        let stored = plan.map { GGMLType.dtype(id: $0.typeID) ?? .f32 }
        if let fileType = fileType ?? Self.fileType(plan.map(\.tensor), stored) { metadata.append((GGUFKey.fileType, .uint32(fileType))) }
        if stored.contains(where: \.isBlockQuantized) { metadata.append((GGUFKey.quantizationVersion, .uint32(2))) }
        metadata += text.map { ($0.key, .text($0.value)) }
        metadata += GGUFLlamaMetadata.entries(model.config)
        if let tokenizer = model.tokenizer { metadata += GGUFTokenizerMetadata.entries(tokenizer) }

        let out = try AtomicFileWriter(path: path, refusingToOverwrite: model.files.map(\.path))
        try out.write(GGUF.magic)
        try out.write(GGUF.version)
        try out.write(UInt64(plan.count))
        try out.write(UInt64(metadata.count))
        for (key, value) in metadata {
            try writeString(Array(key.utf8), to: out)
            try out.write(value.type.rawValue)
            try write(value, to: out)
        }
        var offset = 0
        for entry in plan {
            try writeString(Array(entry.tensor.name.utf8), to: out)
            try out.write(UInt32(entry.tensor.shape.count))
            for d in entry.tensor.shape.reversed() { try out.write(UInt64(d)) }
            try out.write(entry.typeID)
            try out.write(UInt64(offset))
            offset += padded(entry.bytes)
        }
        try out.align(to: alignment)
        for (i, entry) in plan.enumerated() {
            if GGMLType.id(for: entry.tensor.dtype) != nil {
                try model.stream(entry.tensor, rows: entry.tensor.pieceRows()) { try out.write($0) }
            } else {
                try Dequantize.chunks(model, entry.tensor) { _, values in try out.write(UnsafeRawBufferPointer(values)) }
            }
            model.release(entry.tensor)
            try out.align(to: alignment)
            try progress(i + 1, plan.count)
        }
        try out.commit()
    }

    /// llama.cpp's usual order (embedding, layer by layer, final norm, classifier), then any
    /// other tensors in the model's order.
    static func order(_ model: Model) throws -> [Tensor] {
        // Missing tensors fail at the first one, before a hostile layer count builds its list.
        var ordered: [Tensor] = []
        try CanonicalName.forEachExpectedTensor(model.config) { name, _ in ordered.append(try model.tensor(name)) }
        return ordered + model.tensors.filter { !CanonicalName.isExpected($0.name, model.config) }
    }

    static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    static func defaultName(_ path: String) -> String {
        let base = path.split(separator: "/").last.map(String.init) ?? "llmq"
        return base.split(separator: ".").first.map(String.init) ?? base
    }

    /// `general.file_type` (llama.cpp's `llama_ftype`) after the dtype holding most matrix
    /// elements; nil for a mix llama.cpp has no name for.
    static func fileType(_ tensors: [Tensor], _ stored: [DType]) -> UInt32? {
        var elements: [DType: Int] = [:]
        for (t, d) in zip(tensors, stored) where t.shape.count == 2 { elements[DType(d.type), default: 0] += t.elementCount }
        // Ties go to the type listed first in the registry, so the result does not depend on hashing.
        let main = elements.max { a, b in a.value != b.value ? a.value < b.value : order(a.key) > order(b.key) }?.key
        return main?.type.ggufFileType
    }

    private static func order(_ dtype: DType) -> Int {
        BlockTypes.all.firstIndex { ObjectIdentifier($0) == ObjectIdentifier(dtype.type) } ?? Int.max
    }

    static func writeString(_ bytes: [UInt8], to out: AtomicFileWriter) throws {
        try out.write(UInt64(bytes.count))
        try out.write(bytes)
    }

    /// A value without its type tag (arrays carry their element type and count).
    static func write(_ value: GGUFValue, to out: AtomicFileWriter) throws {
        switch value {
        case .uint8(let v): try out.write(v)
        case .int8(let v): try out.write(v)
        case .uint16(let v): try out.write(v)
        case .int16(let v): try out.write(v)
        case .uint32(let v): try out.write(v)
        case .int32(let v): try out.write(v)
        case .uint64(let v): try out.write(v)
        case .int64(let v): try out.write(v)
        case .float32(let v): try out.write(v)
        case .float64(let v): try out.write(v.bitPattern)
        case .bool(let v): try out.write(UInt8(v ? 1 : 0))
        case .string(let bytes): try writeString(bytes, to: out)
        case .array(let type, let items):
            try out.write(type.rawValue)
            try out.write(UInt64(items.count))
            for item in items { try write(item, to: out) }
        }
    }
}
