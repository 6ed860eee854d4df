import LLMQCore

/// One tensor table entry (`formats/llmq.md`, "Tensor table").
public struct ContainerEntry: Sendable, Equatable {
    public enum Compression: UInt8, Sendable {
        case none = 0
        case zstd = 1
    }

    public var name: String
    /// Outermost first.
    public var shape: [Int]
    public var dtype: DType
    public var compression: Compression
    public var offset: Int
    public var storedLength: Int
    public var rawLength: Int
    public var xxh64: UInt64

    public init(name: String, shape: [Int], dtype: DType, compression: Compression, offset: Int, storedLength: Int,
                rawLength: Int, xxh64: UInt64) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.compression = compression
        self.offset = offset
        self.storedLength = storedLength
        self.rawLength = rawLength
        self.xxh64 = xxh64
    }

    static let fixedBytes = 48

    var encodedLength: Int {
        (ContainerEntry.fixedBytes + 8 * shape.count + name.utf8.count + 7) / 8 * 8
    }

    func encode(into out: inout [UInt8]) {
        let start = out.count
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        put(UInt16(name.utf8.count))
        put(UInt8(shape.count))
        put(compression.rawValue)
        put(ContainerDType.code(dtype))
        put(UInt32(dtype.blockSize))
        put(UInt32(0))
        for v in [offset, storedLength, rawLength] { put(UInt64(v)) }
        put(xxh64)
        for d in shape { put(UInt64(d)) }
        out += Array(name.utf8)
        out += [UInt8](repeating: 0, count: start + encodedLength - out.count)
    }
}

enum ContainerTable {
    static func encode(_ entries: [ContainerEntry]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(entries.reduce(0) { $0 + $1.encodedLength })
        for e in entries { e.encode(into: &out) }
        return out
    }

    /// Parses and checks every entry (check 3 of the spec, checksum excepted). `bytes` is the whole
    /// file; errors carry the offset of the offending field.
    static func decode(_ bytes: UnsafeRawBufferPointer, header h: ContainerHeader) throws -> [ContainerEntry] {
        let table = UnsafeRawBufferPointer(rebasing: bytes[h.table.offset..<h.table.end])
        // Each entry takes at least 56 bytes, so the count is bounded by the table before allocating.
        guard h.tensorCount <= h.table.length / (ContainerEntry.fixedBytes + 8) else {
            throw LLMQError(.invalid, "tensor_count \(h.tensorCount) cannot fit in a \(h.table.length)-byte table", offset: 16)
        }
        var r = ByteReader(table, base: h.table.offset)
        var entries: [ContainerEntry] = []
        entries.reserveCapacity(h.tensorCount)
        var names = Set<String>()
        var dataEnd = h.dataOffset
        for i in 0..<h.tensorCount {
            let start = r.offset
            func fail(_ message: String, at field: Int) -> LLMQError {
                LLMQError(.invalid, "table entry \(i): \(message)", offset: h.table.offset + start + field)
            }
            let nameLength = Int(try r.read(UInt16.self, "name_length of table entry \(i)"))
            let ndim = Int(try r.u8("ndim of table entry \(i)"))
            let compressionCode = try r.u8("compression of table entry \(i)")
            let code = try r.u32("dtype of table entry \(i)")
            let blockSize = try r.u32("block_size of table entry \(i)")
            let reserved = try r.u32("reserved field of table entry \(i)")
            let offset = try r.u64("offset of table entry \(i)")
            let stored = try r.u64("stored_length of table entry \(i)")
            let raw = try r.u64("raw_length of table entry \(i)")
            let checksum = try r.u64("xxh64 of table entry \(i)")
            guard (1...ContainerLayout.maxNameBytes).contains(nameLength) else { throw fail("name_length \(nameLength) is outside 1...4096", at: 0) }
            guard (1...ContainerLayout.maxDimensions).contains(ndim) else { throw fail("ndim \(ndim) is outside 1...8", at: 2) }
            guard let compression = ContainerEntry.Compression(rawValue: compressionCode) else {
                throw fail("unknown compression \(compressionCode)", at: 3)
            }
            guard let type = ContainerDType.dtype(code) else { throw fail("unknown dtype code \(code)", at: 4) }
            let dtype = type.grouped(Int(blockSize))
            guard blockSize > 0, dtype.isValidBlockSize else { throw fail("block_size \(blockSize) is not valid for \(type.name)", at: 8) }
            guard reserved == 0 else { throw fail("reserved field is \(reserved), not 0", at: 12) }
            var shape: [Int] = []
            for d in 0..<ndim {
                let dim = try r.u64("dimension \(d) of table entry \(i)")
                guard dim >= 1, dim <= UInt64(Int32.max) else { throw fail("dimension \(d) is \(dim), outside 1...\(Int32.max)", at: 48 + 8 * d) }
                shape.append(Int(dim))
            }
            let nameBytes = try r.bytes(nameLength, "name of table entry \(i)")
            guard !nameBytes.contains(0), let name = String(validating: nameBytes, as: UTF8.self) else {
                throw fail("name is not NUL-free UTF-8", at: 48 + 8 * ndim)
            }
            let pad = (8 - (r.offset - start) % 8) % 8
            guard try r.bytes(pad, "padding of table entry \(i)").allSatisfy({ $0 == 0 }) else {
                throw fail("padding after the name of '\(name)' is not zero", at: r.offset - start - pad)
            }
            func named(_ message: String, at field: Int) -> LLMQError {
                fail(message, at: field).forTensor(name)
            }
            guard names.insert(name).inserted else { throw named("name appears twice", at: 48 + 8 * ndim) }
            guard let expected = dtype.byteCount(shape: shape) else {
                throw named("shape \(shape) does not fit \(dtype) (rows must be whole blocks of \(dtype.blockSize)) or its size overflows", at: 48)
            }
            guard raw == UInt64(expected) else { throw named("raw_length \(raw) is not the \(expected) bytes of \(dtype) \(shape)", at: 32) }
            let canonical = try ContainerLayout.alignUp(dataEnd, h.alignment, what: "tensor offset")
            guard offset == UInt64(canonical) else {
                throw named("offset \(offset) is not the canonical \(canonical) (end of the previous tensor aligned to \(h.alignment))", at: 16)
            }
            switch compression {
            case .none:
                guard stored == raw else { throw named("stored_length \(stored) differs from raw_length \(raw) but the tensor is not compressed", at: 24) }
            case .zstd:
                guard stored > 0 else { throw named("stored_length is 0 for a zstd tensor", at: 24) }
            }
            guard canonical <= h.table.offset, stored <= UInt64(h.table.offset - canonical) else {
                throw named("stored bytes \(canonical)..<\(UInt64(canonical) &+ stored) run past the data section into the table at \(h.table.offset)", at: 24)
            }
            dataEnd = canonical + Int(stored)
            entries.append(ContainerEntry(name: name, shape: shape, dtype: dtype, compression: compression, offset: canonical,
                                          storedLength: Int(stored), rawLength: expected, xxh64: checksum))
        }
        guard r.remaining == 0 else {
            throw LLMQError(.invalid, "the table has \(r.remaining) bytes after its \(h.tensorCount) entries", offset: h.table.offset + r.offset)
        }
        let tableStart = try ContainerLayout.alignUp(dataEnd, ContainerLayout.sectionAlignment, what: "table offset")
        guard h.table.offset == tableStart else {
            throw LLMQError(.invalid, "table_offset \(h.table.offset) is not align_up(end of the data \(dataEnd), 8) = \(tableStart)", offset: 40)
        }
        return entries
    }
}
