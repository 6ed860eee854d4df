import LLMQCore

/// Importance matrices in llama.cpp's GGUF imatrix format (`formats/imatrix.md`), so files from
/// `llama-imatrix` work with `llmq quantize --imatrix` and llmq's work with `llama-quantize`:
/// `general.type = "imatrix"`, the calibration texts and chunking as `imatrix.*` keys, and per
/// weight matrix an f32 tensor `<name>.in_sum2` (Σx² per input column) and `<name>.counts`
/// (vectors seen). Measured sensitivities go in `<name>.sensitivity` (one f32), which llama.cpp skips.
public enum ImatrixFile {
    static let sumSuffix = ".in_sum2"
    static let countSuffix = ".counts"
    static let sensitivitySuffix = ".sensitivity"

    public static func write(_ matrix: ImportanceMatrix, to path: String, refusingToOverwrite inputs: [String] = []) throws {
        var tensors: [(name: String, shape: [Int], values: [Float])] = []
        for (name, entry) in matrix.entries.sorted(by: { $0.key < $1.key }) {
            tensors.append((name + sumSuffix, [1, entry.sumSquares.count], entry.sumSquares))
            tensors.append((name + countSuffix, [1, 1], [Float(entry.count)]))
        }
        for (name, s) in matrix.sensitivities.sorted(by: { $0.key < $1.key }) {
            tensors.append((name + sensitivitySuffix, [1, 1], [Float(s)]))
        }
        let metadata: [(String, GGUFValue)] = [
            ("general.type", .text("imatrix")),
            ("imatrix.datasets", .array(.string, GGUFArray(matrix.datasets.map { .text($0) }))),
            ("imatrix.chunk_count", .uint32(UInt32(clamping: matrix.chunkCount))),
            ("imatrix.chunk_size", .uint32(UInt32(clamping: matrix.chunkSize))),
        ]
        let out = try AtomicFileWriter(path: path, refusingToOverwrite: inputs)
        try out.write(GGUF.magic)
        try out.write(GGUF.version)
        try out.write(UInt64(tensors.count))
        try out.write(UInt64(metadata.count))
        for (key, value) in metadata {
            try GGUFWriter.writeString(Array(key.utf8), to: out)
            try out.write(value.type.rawValue)
            try GGUFWriter.write(value, to: out)
        }
        var offset = 0
        for t in tensors {
            try GGUFWriter.writeString(Array(t.name.utf8), to: out)
            try out.write(UInt32(t.shape.count))
            for d in t.shape.reversed() { try out.write(UInt64(d)) }
            try out.write(UInt32(0))   // ggml type f32
            try out.write(UInt64(offset))
            offset += GGUFWriter.padded(t.values.count * 4)
        }
        try out.align(to: GGUFWriter.alignment)
        for t in tensors {
            try t.values.withUnsafeBytes { try out.write($0) }
            try out.align(to: GGUFWriter.alignment)
        }
        try out.commit()
    }

    public static func read(path: String) throws -> ImportanceMatrix {
        let mapped = try MappedFile(path: path)
        do {
            return try read(mapped.bytes)
        } catch let e as LLMQError {
            throw e.inFile(path)
        }
    }

    static func read(_ bytes: UnsafeRawBufferPointer) throws -> ImportanceMatrix {
        guard GGUF.isGGUF(bytes) else {
            throw LLMQError(.badMagic, "is not a GGUF imatrix file (llama.cpp's older .dat format is not read; convert it with llama-imatrix --in-file)")
        }
        let file = try GGUFFile(bytes)
        if let type = file["general.type"], type.string != "imatrix" {
            throw LLMQError(.invalid, "general.type is \(type.summary), not \"imatrix\"")
        }
        var sums: [String: [Float]] = [:], counts: [String: Int] = [:], sensitivities: [String: Double] = [:]
        for info in file.tensors {
            func values() throws -> [Float] {
                guard info.dtype == .f32 else { throw LLMQError(.invalid, "is \(info.dtype); imatrix tensors are f32", tensor: info.name) }
                let floats = (0..<info.byteCount / 4).map { bytes.loadUnaligned(fromByteOffset: info.offset + 4 * $0, as: Float.self) }
                guard floats.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                    throw LLMQError(.invalid, "holds a negative or non-finite value", tensor: info.name)
                }
                return floats
            }
            if let name = strip(info.name, sumSuffix) {
                guard info.shape.count <= 2, info.shape.count < 2 || info.shape[0] == 1 else {
                    throw LLMQError(.unsupported, "has shape \(info.shape): per-expert statistics (mixture-of-experts models) are not supported",
                                    tensor: info.name)
                }
                sums[name] = try values()
            } else if let name = strip(info.name, countSuffix) {
                let v = try values()
                guard v.count == 1 else {
                    throw LLMQError(.unsupported, "holds \(v.count) counts: per-expert statistics (mixture-of-experts models) are not supported",
                                    tensor: info.name)
                }
                guard let count = Int(exactly: v[0]) else {
                    throw LLMQError(.invalid, "count \(v[0]) is not a whole number of vectors", tensor: info.name)
                }
                counts[name] = count
            } else if let name = strip(info.name, sensitivitySuffix) {
                let v = try values()
                guard v.count == 1 else { throw LLMQError(.invalid, "holds \(v.count) values, not 1", tensor: info.name) }
                sensitivities[name] = Double(v[0])
            }
        }
        var entries: [String: ImportanceMatrix.Entry] = [:]
        for (name, sum) in sums {
            guard let count = counts[name] else { throw LLMQError(.invalid, "has \(sumSuffix) but no \(countSuffix)", tensor: name) }
            entries[name] = ImportanceMatrix.Entry(sumSquares: sum, count: count)
        }
        if let orphan = counts.keys.first(where: { sums[$0] == nil }) {
            throw LLMQError(.invalid, "has \(countSuffix) but no \(sumSuffix)", tensor: orphan)
        }
        guard !entries.isEmpty else { throw LLMQError(.invalid, "holds no \(sumSuffix) tensors: not an importance matrix") }
        let datasets = file["imatrix.datasets"]?.array?.compactMap(\.string) ?? []
        return ImportanceMatrix(entries: entries, datasets: datasets, chunkCount: file["imatrix.chunk_count"]?.int ?? 0,
                                chunkSize: file["imatrix.chunk_size"]?.int ?? 0, sensitivities: sensitivities)
    }

    private static func strip(_ name: String, _ suffix: String) -> String? {
        name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : nil
    }
}
