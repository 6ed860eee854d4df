import LLMQCore

/// The header of one safetensors file (`formats/safetensors.md`): an 8-byte little-endian length N,
/// N bytes of JSON mapping tensor names to dtype, shape and a byte range of the data section,
/// then the data section. `parse` checks every field against the file's length before any tensor
/// byte is trusted.
struct SafetensorsHeader {
    /// The reference implementation's limit; real headers are kilobytes (megabytes with a vocabulary).
    static let maxHeaderBytes = 100_000_000

    struct Entry {
        var name: String
        var dtype: DType
        /// Outermost first, as written.
        var shape: [Int]
        /// Byte range relative to the start of the data section.
        var begin: Int
        var end: Int
    }

    var headerLength: Int
    /// Sorted by data offset.
    var entries: [Entry]
    /// `__metadata__`, in header order.
    var metadata: [(key: String, value: String)]

    var dataStart: Int { 8 + headerLength }

    /// True when the first bytes look like a safetensors file: a plausible header length followed by `{`.
    static func isPlausible(_ head: UnsafeRawBufferPointer) -> Bool {
        guard head.count >= 10 else { return false }
        let n = UInt64(littleEndian: head.loadUnaligned(as: UInt64.self))
        return n >= 2 && n <= UInt64(maxHeaderBytes) && n <= UInt64(head.count - 8) && head[8] == UInt8(ascii: "{")
    }

    static func parse(_ file: UnsafeRawBufferPointer) throws -> SafetensorsHeader {
        guard file.count >= 8 else {
            throw LLMQError(.truncated, "file has \(file.count) bytes; a safetensors file starts with an 8-byte header length", offset: 0)
        }
        let declared = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(maxHeaderBytes) else {
            throw LLMQError(.invalid, "header length \(declared) exceeds the limit of \(maxHeaderBytes) bytes", offset: 0)
        }
        let n = Int(declared)
        guard n <= file.count - 8 else {
            throw LLMQError(.truncated, "header length \(n) runs past the end of the file (\(file.count - 8) bytes follow the length field)", offset: 0)
        }
        guard n > 0, file[8] == UInt8(ascii: "{") else { throw LLMQError(.invalid, "header does not start with '{'", offset: 8) }
        let json = try JSONParser.parse(UnsafeRawBufferPointer(rebasing: file[8..<(8 + n)]), base: 8)
        guard let members = json.members else { throw LLMQError(.invalid, "header is \(json.kindDescription), not a JSON object", offset: 8) }

        let dataLength = file.count - 8 - n
        var entries: [Entry] = []
        var metadata: [(key: String, value: String)] = []
        for member in members {
            if member.key == "__metadata__" {
                metadata = try parseMetadata(member.value)
            } else {
                entries.append(try parseEntry(member.key, member.value, dataLength: dataLength))
            }
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        try checkTiling(entries, dataLength: dataLength, dataStart: 8 + n)
        return SafetensorsHeader(headerLength: n, entries: entries, metadata: metadata)
    }

    private static func parseMetadata(_ value: JSONValue) throws -> [(key: String, value: String)] {
        if value == .null { return [] }
        guard let members = value.members else {
            throw LLMQError(.invalid, "__metadata__ is \(value.kindDescription), expected an object of strings")
        }
        return try members.map { m in
            guard let s = m.value.string else {
                throw LLMQError(.invalid, "__metadata__ key \"\(m.key)\" holds \(m.value.kindDescription), expected a string")
            }
            return (m.key, s)
        }
    }

    private static func parseEntry(_ name: String, _ value: JSONValue, dataLength: Int) throws -> Entry {
        func bad(_ message: String, _ kind: LLMQError.Kind = .invalid) -> LLMQError { LLMQError(kind, message, tensor: name) }
        guard value.members != nil else { throw bad("header entry is \(value.kindDescription), expected an object with dtype, shape and data_offsets") }
        guard let dtypeField = value["dtype"] else { throw bad("header entry has no dtype") }
        guard let dtypeName = dtypeField.string else { throw bad("dtype is \(dtypeField.kindDescription), expected a string") }
        guard let dtype = SafetensorsDType.dtype(named: dtypeName) else {
            if SafetensorsDType.unsupported.contains(dtypeName) {
                throw bad("dtype \(dtypeName) is not supported (llmq reads \(SafetensorsDType.supportedList))", .unsupported)
            }
            throw bad("unknown dtype \"\(dtypeName)\"")
        }
        guard let shapeField = value["shape"] else { throw bad("header entry has no shape") }
        guard let dims = shapeField.array else { throw bad("shape is \(shapeField.kindDescription), expected an array of integers") }
        let shape = try dims.map { d -> Int in
            guard let i = d.integer, i >= 0 else {
                throw bad("shape has \(d.integer.map(String.init) ?? d.kindDescription) as a dimension; dimensions are integers ≥ 0")
            }
            return i
        }
        guard let offsetsField = value["data_offsets"] else { throw bad("header entry has no data_offsets") }
        guard let offsets = offsetsField.array, offsets.count == 2, let begin = offsets[0].integer, let end = offsets[1].integer,
              begin >= 0, begin <= end
        else { throw bad("data_offsets must be two integers [begin, end] with 0 ≤ begin ≤ end") }
        guard end <= dataLength else {
            throw bad("data_offsets [\(begin), \(end)] run past the end of the file (the data section has \(dataLength) bytes)", .truncated)
        }
        guard let bytes = dtype.byteCount(shape: shape) else { throw bad("shape \(shape) of \(dtypeName) overflows") }
        guard end - begin == bytes else {
            throw bad("data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(bytes)")
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// The tensors must cover the data section exactly: no gaps, no overlaps, nothing after the last.
    private static func checkTiling(_ sorted: [Entry], dataLength: Int, dataStart: Int) throws {
        var cursor = 0
        var previous: Entry?
        for e in sorted {
            let after = previous.map { "tensor '\($0.name)'" } ?? "the header"
            if e.begin < cursor, let p = previous {
                throw LLMQError(.invalid, "bytes \(e.begin)..<\(e.end) overlap tensor '\(p.name)' (bytes \(p.begin)..<\(p.end))",
                                offset: dataStart + e.begin, tensor: e.name)
            }
            if e.begin > cursor {
                throw LLMQError(.invalid, "starts at data offset \(e.begin), leaving \(e.begin - cursor) bytes after \(after) that belong to no tensor",
                                offset: dataStart + cursor, tensor: e.name)
            }
            cursor = e.end
            previous = e
        }
        guard cursor == dataLength else {
            let after = previous.map { "the last tensor '\($0.name)'" } ?? "the header"
            throw LLMQError(.invalid, "\(dataLength - cursor) bytes after \(after) belong to no tensor", offset: dataStart + cursor)
        }
    }

    /// The N header bytes for tensors laid out in `entries` order, padded with spaces to a multiple
    /// of 8 so that the data section (and every tensor, in the reference order) stays aligned.
    static func encode(_ entries: [Entry], metadata: [(key: String, value: String)]) throws -> [UInt8] {
        var members: [JSONMember] = []
        if !metadata.isEmpty {
            members.append(JSONMember("__metadata__", .object(metadata.map { JSONMember($0.key, .string($0.value)) })))
        }
        for e in entries {
            guard let dtypeName = SafetensorsDType.name(of: e.dtype) else {
                throw LLMQError(.unsupported, "safetensors cannot hold dtype \(e.dtype)", tensor: e.name)
            }
            members.append(JSONMember(e.name, .object([
                JSONMember("dtype", .string(dtypeName)),
                JSONMember("shape", .array(e.shape.map { .integer($0) })),
                JSONMember("data_offsets", .array([.integer(e.begin), .integer(e.end)])),
            ])))
        }
        var bytes = Array(JSONValue.object(members).serialized.utf8)
        bytes += [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8)
        guard bytes.count <= maxHeaderBytes else {
            throw LLMQError(.unsupported, "the header would take \(bytes.count) bytes, over the \(maxHeaderBytes)-byte limit readers enforce")
        }
        return bytes
    }
}
