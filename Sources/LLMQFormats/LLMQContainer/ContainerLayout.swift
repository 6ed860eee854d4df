import LLMQCore

/// Constants and placement rules of the llmq container (`formats/llmq.md`).
public enum ContainerLayout {
    public static let magic: [UInt8] = [0x89, 0x4C, 0x4C, 0x4D, 0x51, 0x0D, 0x0A, 0x1A]  // "\x89LLMQ\r\n\x1a"
    public static let version: UInt32 = 1
    public static let headerBytes = 128
    public static let defaultAlignment = 64
    public static let alignmentRange = 64...(1 << 20)
    /// Sections after the data start at multiples of 8, so the table's u64 fields are aligned.
    public static let sectionAlignment = 8
    public static let maxNameBytes = 4096
    public static let maxDimensions = 8

    public static func isContainer(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= magic.count && zip(bytes.prefix(magic.count), magic).allSatisfy { $0 == $1 }
    }

    /// A magic with one or two bytes wrong: read as a damaged container, so the error says "bad
    /// magic" rather than whatever a magic-less llama2.c header would make of it.
    public static func isDamagedContainer(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= magic.count && zip(bytes.prefix(magic.count), magic).filter { $0 == $1 }.count >= magic.count - 2
    }

    /// The least multiple of `alignment` that is ≥ `x`, or nil on overflow.
    static func alignUp(_ x: Int, _ alignment: Int) -> Int? {
        let (sum, overflow) = x.addingReportingOverflow(alignment - 1)
        return overflow ? nil : sum / alignment * alignment
    }

    static func alignUp(_ x: Int, _ alignment: Int, what: @autoclosure () -> String) throws -> Int {
        guard x >= 0, let y = alignUp(x, alignment) else { throw LLMQError(.invalid, "\(what()) overflows") }
        return y
    }
}

/// The 128-byte header: where the sections are and their checksums.
public struct ContainerHeader: Equatable, Sendable {
    public var alignment: Int
    public var tensorCount: Int
    public var fileLength: Int
    public var dataOffset: Int
    public var table: Section
    public var tokenizer: Section
    public var metadata: Section

    public struct Section: Equatable, Sendable {
        public var offset: Int
        public var length: Int
        public var xxh64: UInt64
        public var end: Int { offset + length }
    }

    /// Byte offset of `header_xxh64`; the checksum covers everything before it.
    static let checksumOffset = 120

    func encoded() -> [UInt8] {
        var out = ContainerLayout.magic
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        u32(Int(ContainerLayout.version))
        u32(alignment)
        u32(tensorCount)
        u32(0)  // flags
        for v in [fileLength, dataOffset, table.offset, table.length, tokenizer.offset, tokenizer.length,
                  metadata.offset, metadata.length] { u64(UInt64(v)) }
        for v in [table.xxh64, tokenizer.xxh64, metadata.xxh64, 0] { u64(v) }
        u64(XXH64.hash(out))
        return out
    }

    /// Parses the header and checks its own fields (check 1 of the spec).
    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> ContainerHeader {
        guard bytes.count >= ContainerLayout.headerBytes else {
            throw LLMQError(.truncated, "file has \(bytes.count) bytes, less than the \(ContainerLayout.headerBytes)-byte header", offset: 0)
        }
        guard ContainerLayout.isContainer(bytes) else { throw LLMQError(.badMagic, "not an llmq container (bad magic)", offset: 0) }
        var r = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<ContainerLayout.headerBytes]), offset: 8)
        let version = try r.u32("version")
        guard version == ContainerLayout.version else {
            throw LLMQError(.unsupported, "container version \(version) (llmq reads version \(ContainerLayout.version))", offset: 8)
        }
        let stored = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: checksumOffset, as: UInt64.self))
        let actual = XXH64.hash(UnsafeRawBufferPointer(rebasing: bytes[0..<checksumOffset]))
        guard stored == actual else {
            throw LLMQError(.integrity, "header checksum mismatch (stored \(XXH64.hex(stored)), computed \(XXH64.hex(actual))): the header is corrupt",
                            offset: checksumOffset)
        }
        let alignment = Int(try r.u32("alignment"))
        let tensorCount = Int(try r.u32("tensor_count"))
        let flags = try r.u32("flags")
        guard flags == 0 else { throw LLMQError(.unsupported, "header flags \(flags) (version 1 defines none)", offset: 20) }
        guard ContainerLayout.alignmentRange.contains(alignment), alignment & (alignment - 1) == 0 else {
            throw LLMQError(.invalid, "alignment \(alignment) is not a power of two in 64...\(1 << 20)", offset: 12)
        }
        var fields: [Int] = []
        for i in 0..<8 {
            let at = 24 + 8 * i
            let v = try r.u64("header field at \(at)")
            guard v <= UInt64(Int.max) else { throw LLMQError(.invalid, "header field \(v) is out of range", offset: at) }
            fields.append(Int(v))
        }
        let sums = [try r.u64("table_xxh64"), try r.u64("tokenizer_xxh64"), try r.u64("metadata_xxh64")]
        guard try r.u64("reserved") == 0 else { throw LLMQError(.invalid, "reserved header field is not zero", offset: 112) }
        return ContainerHeader(alignment: alignment, tensorCount: tensorCount, fileLength: fields[0], dataOffset: fields[1],
                               table: Section(offset: fields[2], length: fields[3], xxh64: sums[0]),
                               tokenizer: Section(offset: fields[4], length: fields[5], xxh64: sums[1]),
                               metadata: Section(offset: fields[6], length: fields[7], xxh64: sums[2]))
    }

    /// Checks the file length and that the sections follow each other canonically (check 2 of the
    /// spec); where the data ends, and so where the table must start, is checked with the entries.
    func validateSections(fileSize: Int) throws {
        guard fileLength == fileSize else {
            throw LLMQError(fileSize < fileLength ? .truncated : .invalid,
                            "header says the file has \(fileLength) bytes, it has \(fileSize)", offset: 24)
        }
        guard dataOffset == (try ContainerLayout.alignUp(ContainerLayout.headerBytes, alignment, what: "data offset")) else {
            throw LLMQError(.invalid, "data_offset \(dataOffset) is not align_up(128, \(alignment))", offset: 32)
        }
        guard table.offset >= dataOffset, table.offset % ContainerLayout.sectionAlignment == 0 else {
            throw LLMQError(.invalid, "table_offset \(table.offset) is before the data or not a multiple of 8", offset: 40)
        }
        let tableEnd = try Checked.add(table.offset, table.length, what: "table end")
        guard tokenizer.offset == (try ContainerLayout.alignUp(tableEnd, 8, what: "tokenizer offset")) else {
            throw LLMQError(.invalid, "tokenizer_offset \(tokenizer.offset) is not align_up(table end \(tableEnd), 8)", offset: 56)
        }
        let tokenizerEnd = try Checked.add(tokenizer.offset, tokenizer.length, what: "tokenizer end")
        guard metadata.offset == (try ContainerLayout.alignUp(tokenizerEnd, 8, what: "metadata offset")) else {
            throw LLMQError(.invalid, "metadata_offset \(metadata.offset) is not align_up(tokenizer end \(tokenizerEnd), 8)", offset: 72)
        }
        guard metadata.length > 0 else { throw LLMQError(.invalid, "metadata_length is 0; the metadata is required", offset: 80) }
        guard try Checked.add(metadata.offset, metadata.length, what: "metadata end") == fileLength else {
            throw LLMQError(.invalid, "the metadata (\(metadata.offset) + \(metadata.length)) does not end at the end of the file (\(fileLength))", offset: 72)
        }
    }
}

/// dtype codes: each block type's `containerCode` (ggml's type numbers where ggml has the type;
/// llmq's own from 256).
enum ContainerDType {
    static func code(_ dtype: DType) -> UInt32 { dtype.type.containerCode }

    static func dtype(_ code: UInt32) -> DType? { BlockTypes.dtype(containerCode: code) }
}
