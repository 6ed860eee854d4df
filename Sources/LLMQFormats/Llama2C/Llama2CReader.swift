import LLMQCore

/// Reads llama2.c checkpoints: legacy v0 (`run.c`), v1 (fp32) and v2 (Q8_0) from `export.py`.
/// Only the header is read; tensors stay in the memory map.
public enum Llama2CReader {
    public static func isVersioned(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes.loadUnaligned(as: UInt32.self) == Llama2CLayout.magic
    }

    public static func read(path: String) throws -> Model {
        let file = try MappedFile(path: path)
        do {
            return try read(file)
        } catch let e as LLMQError {
            throw e.inFile(path)
        }
    }

    static func read(_ file: MappedFile) throws -> Model {
        var r = ByteReader(file.bytes)
        guard file.count > 0 else { throw LLMQError(.truncated, "file is empty") }
        let version: Int
        if isVersioned(file.bytes) {
            _ = try r.u32("magic")
            let v = try r.i32("version")
            guard v == 1 || v == 2 else { throw LLMQError(.unsupported, "llama2.c checkpoint version \(v) (llmq reads 0, 1 and 2)", offset: 4) }
            version = Int(v)
        } else {
            version = 0
        }
        var fields: [Int] = []
        for name in ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"] {
            fields.append(Int(try r.i32("header field \(name)")))
        }
        var shared = true
        var groupSize = 0
        if version == 0 {
            // A negative vocab_size says the classifier is stored separately.
            if fields[5] < 0 { shared = false; fields[5] = -fields[5] }
        } else {
            let flag = try r.u8("shared_classifier flag")
            guard flag <= 1 else { throw LLMQError(.invalid, "shared_classifier flag is \(flag), expected 0 or 1", offset: r.offset - 1) }
            shared = flag == 1
            if version == 2 {
                groupSize = Int(try r.i32("group size"))
                guard groupSize > 0, groupSize <= 1 << 16 else { throw LLMQError(.invalid, "group size \(groupSize) is not valid", offset: r.offset - 4) }
            }
            try r.require(Llama2CLayout.headerBytes - r.offset, "the 256-byte header")
        }
        let config = ModelConfig(dim: fields[0], hiddenDim: fields[1], layerCount: fields[2], headCount: fields[3],
                                 kvHeadCount: fields[4], vocabSize: fields[5], contextLength: fields[6], sharedClassifier: shared)
        do { try config.validate() } catch let e as LLMQError { throw LLMQError(.invalid, "header: " + e.message) }

        var offset = version == 0 ? Llama2CLayout.legacyHeaderBytes : Llama2CLayout.headerBytes
        try checkSize(config, version: version, groupSize: groupSize, headerBytes: offset, fileBytes: file.count)
        var tensors: [Tensor] = []
        var expectedWithTables: Int?
        var regions = [Region(name: "header", offset: 0, length: offset)]
        func place(_ name: String, _ shape: [Int], _ dtype: DType) throws {
            guard let bytes = dtype.byteCount(shape: shape) else {
                throw LLMQError(.invalid, "shape \(shape) does not fit \(dtype) (group size \(dtype.blockSize))", tensor: name)
            }
            tensors.append(Tensor(name: name, shape: shape, dtype: dtype, offset: offset, storedByteCount: bytes))
            offset = try Checked.add(offset, bytes, what: "tensor offsets")
        }
        let order = Llama2CLayout.order(version: version, config: config)
        for (name, shape) in order {
            let isNorm = CanonicalName.isNorm(name)
            if version == 2 && !isNorm {
                try place(name, shape, DType(Q8_L2C.self, blockSize: groupSize))
            } else {
                try place(name, shape, .f32)
            }
            if version == 0 && name == CanonicalName.outputNorm {
                // Legacy files carry freq_cis_real and freq_cis_imag here; tolerate files without them.
                let tables = try Checked.mul(Llama2CLayout.ropeTableFloats(config), 2 * 4, what: "RoPE tables")
                let classifier = shared ? 0 : try Checked.mul(config.vocabSize, config.dim, 4, what: "classifier")
                let withTables = try Checked.add(try Checked.add(offset, tables, what: "file size"), classifier, what: "file size")
                expectedWithTables = withTables
                if file.count == withTables {
                    regions.append(Region(name: "rope tables (unused)", offset: offset, length: tables))
                    offset += tables
                }
            }
        }
        guard offset == file.count else {
            let expected = expectedWithTables ?? offset
            let verdict = expected > file.count ? "is too short" : "has \(file.count - expected) bytes after the last tensor"
            let needs = expectedWithTables.map { "\($0) bytes (\(offset) without the RoPE tables)" } ?? "\(offset) bytes"
            throw LLMQError(expected > file.count ? .truncated : .invalid,
                            "\(verdict): this header (dim \(config.dim), hidden \(config.hiddenDim), \(config.layerCount) layers, vocab \(config.vocabSize)) needs \(needs), the file has \(file.count)")
        }
        let detail = ["legacy raw fp32", "fp32 export", "Q8_0 export, group \(groupSize)"][version]
        return try Model(format: FileFormat(name: "llama2c", version: version, detail: detail), files: [file], config: config,
                         tensors: tensors, regions: regions)
    }

    /// The file length the header implies, computed from per-kind sizes before any per-layer list is
    /// built: a header claiming 2^24 layers must fail here, not after allocating 150 million names.
    private static func checkSize(_ c: ModelConfig, version: Int, groupSize: Int, headerBytes: Int, fileBytes: Int) throws {
        func bytes(_ shape: [Int], norm: Bool) throws -> Int {
            let dtype = version == 2 && !norm ? DType(Q8_L2C.self, blockSize: groupSize) : .f32
            guard let n = dtype.byteCount(shape: shape) else {
                throw LLMQError(.invalid, "header: a \(shape) tensor does not fit \(dtype) (group size \(groupSize))")
            }
            return n
        }
        var perLayer = 0
        for t in CanonicalName.LayerTensor.allCases {
            perLayer = try Checked.add(perLayer, try bytes(t.shape(c), norm: t.isNorm), what: "layer size")
        }
        let matrix = try bytes([c.vocabSize, c.dim], norm: false)
        var total = try Checked.add(headerBytes, try Checked.mul(perLayer, c.layerCount, what: "layer sizes"), what: "file size")
        total = try Checked.add(total, try Checked.add(matrix, try bytes([c.dim], norm: true), what: "file size"), what: "file size")
        if !c.sharedClassifier { total = try Checked.add(total, matrix, what: "file size") }
        guard total <= fileBytes else {
            var needs = "\(total) bytes"
            if version == 0 {
                let tables = try Checked.mul(Llama2CLayout.ropeTableFloats(c), 2 * 4, what: "RoPE tables")
                needs = "\(try Checked.add(total, tables, what: "file size")) bytes (\(total) without the RoPE tables)"
            }
            throw LLMQError(.truncated, "is too short: this header (dim \(c.dim), hidden \(c.hiddenDim), \(c.layerCount) layers, vocab \(c.vocabSize)) needs \(needs), the file has \(fileBytes)")
        }
    }
}
