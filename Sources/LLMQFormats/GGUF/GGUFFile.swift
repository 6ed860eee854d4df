import LLMQCore

/// The parsed header of a GGUF file: metadata and tensor infos, every length, count, shape and
/// offset checked against the file (`formats/gguf.md`, "Checks llmq makes on read").
/// Tensor data is not touched.
public struct GGUFFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: GGUFValue
        /// Where the entry starts in the file.
        public var offset: Int
    }

    public struct TensorInfo: Sendable, Equatable {
        public var name: String
        /// Outermost first, as llmq writes shapes (the file lists them innermost first).
        public var shape: [Int]
        public var typeID: UInt32
        public var dtype: DType
        /// Absolute offset of the data in the file.
        public var offset: Int
        public var byteCount: Int
    }

    public var version: UInt32
    public var metadata: [Entry]
    public var tensors: [TensorInfo]
    public var alignment: Int
    /// Byte ranges of the three header parts and the start of the (aligned) data section.
    public var metadataRange: Range<Int>
    public var tensorInfoRange: Range<Int>
    public var dataOffset: Int

    public subscript(key: String) -> GGUFValue? {
        metadata.first { $0.key == key }?.value
    }

    /// Parses and validates the header of `bytes` (a whole file).
    public init(_ bytes: UnsafeRawBufferPointer) throws {
        var r = ByteReader(bytes)
        guard bytes.count > 0 else { throw LLMQError(.truncated, "file is empty") }
        let magic = try r.u32("GGUF magic")
        guard magic == GGUF.magic else { throw LLMQError(.badMagic, "does not start with \"GGUF\"", offset: 0) }
        version = try r.u32("GGUF version")
        guard version & 0xFFFF != 0 else {
            throw LLMQError(.unsupported, "GGUF version \(version) looks byte-swapped: big-endian GGUF files are not supported", offset: 4)
        }
        guard GGUF.readableVersions.contains(version) else {
            throw LLMQError(.unsupported, "GGUF version \(version) (llmq reads versions 2 and 3)", offset: 4)
        }
        let tensorCount = try Self.count(&r, "tensor count", minimumEach: 24)
        let kvCount = try Self.count(&r, "metadata key/value count", minimumEach: 13)

        let metadataStart = r.offset
        var entries: [Entry] = []
        entries.reserveCapacity(kvCount)
        var keys = Set<String>()
        for i in 0..<kvCount {
            let at = r.offset
            let key = try Self.name(&r, "key of metadata entry \(i)")
            guard keys.insert(key).inserted else { throw LLMQError(.invalid, "metadata key '\(key)' appears twice", offset: at) }
            let type = try Self.valueType(&r, "type of metadata '\(key)'")
            entries.append(Entry(key: key, value: try Self.value(&r, type, "metadata '\(key)'", depth: 0), offset: at))
        }
        metadata = entries
        metadataRange = metadataStart..<r.offset

        alignment = GGUF.defaultAlignment
        if let entry = entries.first(where: { $0.key == "general.alignment" }) {
            guard case .uint32(let a) = entry.value, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw LLMQError(.invalid, "general.alignment must be a u32 power of two up to 2^20, found \(entry.value.type) \(entry.value.summary)",
                                offset: entry.offset)
            }
            alignment = Int(a)
        }

        let infoStart = r.offset
        var pending: [(info: TensorInfo, relative: Int, at: Int)] = []
        pending.reserveCapacity(tensorCount)
        var names = Set<String>()
        for i in 0..<tensorCount {
            let at = r.offset
            let name = try Self.name(&r, "name of tensor \(i)")
            guard names.insert(name).inserted else { throw LLMQError(.invalid, "tensor name appears twice", offset: at, tensor: name) }
            do {
                pending.append(try Self.tensorInfo(&r, name: name))
            } catch let e as LLMQError {
                throw e.forTensor(name)
            }
        }
        tensorInfoRange = infoStart..<r.offset
        // A file without tensor data may end before the padding that would start its data section.
        dataOffset = try Self.aligned(r.offset, alignment, what: "data section offset")

        var infos: [TensorInfo] = []
        for p in pending {
            var info = p.info
            guard p.relative % alignment == 0 else {
                throw LLMQError(.invalid, "data offset \(p.relative) is not a multiple of the alignment \(alignment)", offset: p.at, tensor: info.name)
            }
            info.offset = try Checked.add(dataOffset, p.relative, what: "tensor '\(info.name)' offset")
            guard info.offset <= bytes.count, info.byteCount <= bytes.count - info.offset else {
                throw LLMQError(.truncated, "data \(info.offset)..<\(info.offset &+ info.byteCount) runs past the end of the file (\(bytes.count) bytes)",
                                offset: p.at, tensor: info.name)
            }
            infos.append(info)
        }
        tensors = infos
        try Self.checkNoOverlap(infos)
    }

    // MARK: - Pieces

    /// A uint64 count that must leave room for `minimumEach` bytes per item in what is left.
    private static func count(_ r: inout ByteReader, _ what: String, minimumEach: Int) throws -> Int {
        let at = r.offset
        let raw = try r.u64(what)
        guard raw <= UInt64(r.remaining / minimumEach) else {
            throw LLMQError(.invalid, "\(what) \(raw) cannot fit in the \(r.remaining) bytes left (each takes at least \(minimumEach))", offset: at)
        }
        return Int(raw)
    }

    private static func string(_ r: inout ByteReader, _ what: @autoclosure () -> String) throws -> [UInt8] {
        let at = r.offset
        let length = try r.u64("length of \(what())")
        guard length <= UInt64(r.remaining) else {
            throw LLMQError(.truncated, "\(what()) claims \(length) bytes but only \(r.remaining) are left in the file", offset: at)
        }
        return Array(try r.bytes(Int(length), what()))
    }

    /// Keys and tensor names: strings that must be valid UTF-8.
    private static func name(_ r: inout ByteReader, _ what: String) throws -> String {
        let at = r.offset
        let bytes = try string(&r, what)
        guard let s = String(validating: bytes, as: UTF8.self) else { throw LLMQError(.invalid, "\(what) is not valid UTF-8", offset: at) }
        return s
    }

    private static func valueType(_ r: inout ByteReader, _ what: @autoclosure () -> String) throws -> GGUFValueType {
        let at = r.offset
        let raw = try r.u32(what())
        guard let type = GGUFValueType(rawValue: raw) else {
            throw LLMQError(.invalid, "\(what()) is \(raw), not a GGUF value type (0...12)", offset: at)
        }
        return type
    }

    private static func value(_ r: inout ByteReader, _ type: GGUFValueType, _ what: @autoclosure () -> String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try r.u8(what()))
        case .int8: return .int8(try r.read(Int8.self, what()))
        case .uint16: return .uint16(try r.read(UInt16.self, what()))
        case .int16: return .int16(try r.read(Int16.self, what()))
        case .uint32: return .uint32(try r.u32(what()))
        case .int32: return .int32(try r.i32(what()))
        case .uint64: return .uint64(try r.u64(what()))
        case .int64: return .int64(try r.i64(what()))
        case .float32: return .float32(try r.f32(what()))
        case .float64: return .float64(try r.f64(what()))
        case .bool:
            let at = r.offset
            let b = try r.u8(what())
            guard b <= 1 else { throw LLMQError(.invalid, "\(what()) is a bool holding \(b), not 0 or 1", offset: at) }
            return .bool(b == 1)
        case .string:
            return .string(try string(&r, what()))
        case .array:
            guard depth < GGUF.maxArrayNesting else {
                throw LLMQError(.invalid, "\(what()) nests arrays deeper than \(GGUF.maxArrayNesting) levels", offset: r.offset)
            }
            let element = try valueType(&r, "element type of \(what())")
            let n = try count(&r, "element count of \(what())", minimumEach: element.minimumSize)
            return .array(element, try array(&r, element, n, what(), depth: depth))
        }
    }

    /// `n` elements of `element` (n already bounded by the bytes left), stored as GGUFArray packs them.
    private static func array(_ r: inout ByteReader, _ element: GGUFValueType, _ n: Int, _ what: String, depth: Int) throws -> GGUFArray {
        if let size = element.scalarSize {
            let at = r.offset
            let bytes = try r.bytes(n * size, what)
            if element == .bool, let bad = bytes.firstIndex(where: { $0 > 1 }) {
                throw LLMQError(.invalid, "\(what)[\(bad)] is a bool holding \(bytes[bad]), not 0 or 1", offset: at + bad)
            }
            return GGUFArray(scalars: element, bytes: Array(bytes))
        }
        if element == .string {
            var bytes: [UInt8] = [], ends: [Int] = []
            ends.reserveCapacity(n)
            for i in 0..<n {
                bytes += try string(&r, "\(what)[\(i)]")
                ends.append(bytes.count)
            }
            return GGUFArray(strings: bytes, ends: ends)
        }
        var items: [GGUFValue] = []
        items.reserveCapacity(n)
        for i in 0..<n { items.append(try value(&r, element, "\(what)[\(i)]", depth: depth + 1)) }
        return GGUFArray(items)
    }

    private static func tensorInfo(_ r: inout ByteReader, name: String) throws -> (info: TensorInfo, relative: Int, at: Int) {
        let dimsAt = r.offset
        let n = try r.u32("dimension count")
        guard n <= UInt32(GGUF.maxDimensions) else {
            throw LLMQError(.invalid, "has \(n) dimensions; ggml tensors have at most \(GGUF.maxDimensions)", offset: dimsAt, tensor: name)
        }
        var innermostFirst: [Int] = []
        for d in 0..<Int(n) {
            let dimAt = r.offset
            let raw = try r.u64("dimension \(d)")
            guard raw <= UInt64(Int64.max) else {
                throw LLMQError(.invalid, "dimension \(d) is \(raw), more than any file can hold", offset: dimAt, tensor: name)
            }
            innermostFirst.append(Int(raw))
        }
        let shape = Array(innermostFirst.reversed())
        guard (try? Checked.product(shape, what: "elements")) != nil else {
            throw LLMQError(.invalid, "shape \(shape) has more elements than fit in 64 bits", offset: dimsAt, tensor: name)
        }
        let typeAt = r.offset
        let typeID = try r.u32("ggml type")
        guard let dtype = GGMLType.dtype(id: typeID) else {
            throw LLMQError(.unsupported, "has ggml type \(GGMLType.describe(id: typeID)), which llmq cannot read", offset: typeAt, tensor: name)
        }
        guard let bytes = dtype.byteCount(shape: shape) else {
            throw LLMQError(.invalid, "shape \(shape) does not fit \(dtype): rows of \(shape.last ?? 1) are not a whole number of \(dtype.blockSize)-element blocks, or the size overflows",
                            offset: dimsAt, tensor: name)
        }
        let offsetAt = r.offset
        let relative = try r.u64("data offset")
        guard relative <= UInt64(Int64.max / 2) else {
            throw LLMQError(.invalid, "data offset \(relative) is past any file", offset: offsetAt, tensor: name)
        }
        let info = TensorInfo(name: name, shape: shape, typeID: typeID, dtype: dtype, offset: 0, byteCount: bytes)
        return (info, Int(relative), offsetAt)
    }

    private static func aligned(_ offset: Int, _ alignment: Int, what: String) throws -> Int {
        try Checked.add(offset, (alignment - offset % alignment) % alignment, what: what)
    }

    private static func checkNoOverlap(_ infos: [TensorInfo]) throws {
        // File order breaks ties, so the later of two tensors at one offset is the one reported.
        let sorted = infos.enumerated().filter { $0.element.byteCount > 0 }
            .sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }.map(\.element)
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw LLMQError(.invalid, "data \(b.offset)..<\(b.offset + b.byteCount) overlaps tensor '\(a.name)' (\(a.offset)..<\(a.offset + a.byteCount))",
                            offset: b.offset, tensor: b.name)
        }
    }
}
