import LLMQCore

/// A mutated container almost never passes its own checksums, so the fuzzer would see nothing
/// past the header check. `refreshed` rewrites every checksum a writer would have written for
/// these bytes (each tensor's, the table's, tokenizer's, metadata's, then the header's), wherever
/// the fields it needs point inside the input, so the structural checks and the decoders behind
/// them meet the mutation itself. Layout: formats/llmq.md.
enum ContainerChecksums {
    static func refreshed(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var bytes = [UInt8](input)
        guard bytes.count >= 128 else { return bytes }
        let tableOffset = u64(bytes, 40), tableLength = u64(bytes, 48)
        if let table = range(tableOffset, tableLength, in: bytes.count) {
            refreshTensorChecksums(&bytes, table: table, count: Int(u32(bytes, 16)))
            put(hash(bytes, table), into: &bytes, at: 88)
        }
        for (offsetField, checksumField) in [(56, 96), (72, 104)] {
            if let section = range(u64(bytes, offsetField), u64(bytes, offsetField + 8), in: bytes.count) {
                put(hash(bytes, section), into: &bytes, at: checksumField)
            }
        }
        put(hash(bytes, 0..<120), into: &bytes, at: 120)
        return bytes
    }

    /// Walks the table's entries (48 fixed bytes, the shape, the name, zero padding to 8) and sets
    /// each entry's checksum to the hash of the bytes its offset and stored_length name.
    private static func refreshTensorChecksums(_ bytes: inout [UInt8], table: Range<Int>, count: Int) {
        var at = table.lowerBound
        for _ in 0..<count {
            guard at + 48 <= table.upperBound else { return }
            let nameLength = Int(bytes[at]) | Int(bytes[at + 1]) << 8
            let ndim = Int(bytes[at + 2])
            if let stored = range(u64(bytes, at + 16), u64(bytes, at + 24), in: bytes.count) {
                put(hash(bytes, stored), into: &bytes, at: at + 40)
            }
            at += (48 + 8 * ndim + nameLength + 7) / 8 * 8
        }
    }

    private static func range(_ offset: UInt64, _ length: UInt64, in size: Int) -> Range<Int>? {
        guard offset <= UInt64(size), length <= UInt64(size) - offset else { return nil }
        return Int(offset)..<Int(offset + length)
    }

    private static func hash(_ bytes: [UInt8], _ range: Range<Int>) -> UInt64 {
        bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    private static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }

    private static func u64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }

    private static func put(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + 8), with: $0) }
    }
}
