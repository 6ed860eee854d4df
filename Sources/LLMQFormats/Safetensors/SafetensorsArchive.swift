import LLMQCore

/// The tensors of one safetensors file, or of a sharded checkpoint (`model.safetensors.index.json`
/// naming the shard of every tensor), with their names as stored and their data left in the maps.
/// Any safetensors file opens as an archive; `SafetensorsReader` turns one holding a Llama model
/// into a `Model`.
public struct SafetensorsArchive: Sendable {
    public private(set) var files: [MappedFile]
    /// Ordered by file, then offset.
    public private(set) var tensors: [Tensor]
    /// `__metadata__` of every file (the first file's value wins), then the index's `total_size`.
    public private(set) var metadata: [(key: String, value: String)]
    /// Each file's length field and JSON header.
    public private(set) var regions: [Region]

    /// A `.safetensors.index.json` opens its shards; any other path is one safetensors file.
    public static func open(_ path: String) throws -> SafetensorsArchive {
        path.hasSuffix(".json") ? try open(index: path) : try open(file: path)
    }

    /// The stored bytes of one of the archive's tensors.
    public func data(_ tensor: Tensor) throws -> UnsafeRawBufferPointer {
        try files[tensor.fileIndex].slice(offset: tensor.offset, length: tensor.storedByteCount, what: "tensor '\(tensor.name)'")
    }

    static func open(file path: String) throws -> SafetensorsArchive {
        let file = try MappedFile(path: path)
        var archive = SafetensorsArchive(files: [], tensors: [], metadata: [], regions: [])
        try archive.add(file)
        return archive
    }

    /// Opens every shard an index names and checks that each holds exactly the tensors the index
    /// assigns to it.
    static func open(index path: String) throws -> SafetensorsArchive {
        let index = try MappedFile(path: path)
        let json: JSONValue
        do {
            guard index.count <= SafetensorsHeader.maxHeaderBytes else {
                throw LLMQError(.invalid, "index file of \(index.count) bytes exceeds the limit of \(SafetensorsHeader.maxHeaderBytes)")
            }
            json = try JSONParser.parse(index.bytes)
        } catch let e as LLMQError { throw e.inFile(path) }
        func bad(_ message: String) -> LLMQError { LLMQError(.invalid, message, file: path) }
        guard let map = json["weight_map"]?.members else { throw bad("has no weight_map object") }
        var shardOf: [String: String] = [:]
        for m in map {
            guard let shard = m.value.string else { throw bad("weight_map entry \"\(m.key)\" is \(m.value.kindDescription), expected a file name") }
            guard !shard.isEmpty, shard != ".", shard != "..", !shard.contains("/"), !shard.contains("\0") else {
                throw bad("weight_map entry \"\(m.key)\" names \"\(shard)\"; shards must be plain file names beside the index")
            }
            shardOf[m.key] = shard
        }
        let directory = HFDirectory.directory(of: path)
        var archive = SafetensorsArchive(files: [], tensors: [], metadata: [], regions: [])
        for shard in Set(shardOf.values).sorted() {
            let shardPath = directory + shard
            let file = try MappedFile(path: shardPath)
            let first = archive.tensors.count
            try archive.add(file, headerName: "header of \(shard)")
            for t in archive.tensors[first...] where shardOf[t.name] != shard {
                let mapped = shardOf[t.name].map { "the index puts it in \($0)" } ?? "the index does not list it"
                throw LLMQError(.invalid, "is stored in this shard but \(mapped)", file: shardPath, tensor: t.name)
            }
        }
        if archive.tensors.count != shardOf.count {
            let found = Set(archive.tensors.map(\.name))
            let missing = shardOf.keys.sorted().first { !found.contains($0) } ?? ""
            throw LLMQError(.invalid, "the index lists it in \(shardOf[missing] ?? "?") but that shard does not hold it", file: path, tensor: missing)
        }
        if let total = json["metadata"]?["total_size"] {
            archive.metadata.append(("total_size", total.integer.map(String.init) ?? total.kindDescription))
        }
        return archive
    }

    private mutating func add(_ file: MappedFile, headerName: String = "header") throws {
        let header: SafetensorsHeader
        do { header = try SafetensorsHeader.parse(file.bytes) } catch let e as LLMQError { throw e.inFile(file.path) }
        let fileIndex = files.count
        files.append(file)
        regions.append(Region(name: headerName, offset: 0, length: header.dataStart, fileIndex: fileIndex))
        for e in header.entries {
            tensors.append(Tensor(name: e.name, shape: e.shape, dtype: e.dtype, fileIndex: fileIndex,
                                  offset: header.dataStart + e.begin, storedByteCount: e.end - e.begin))
        }
        var seen = Set(metadata.map(\.key))
        for kv in header.metadata where seen.insert(kv.key).inserted { metadata.append(kv) }
    }
}
