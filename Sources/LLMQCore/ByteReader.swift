/// Little-endian cursor over untrusted bytes. Every read is bounds-checked and a short read is a
/// `truncated` error naming the absolute file offset, never a trap.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int
    /// Added to `offset` in error messages when `bytes` is a slice of a larger file.
    public let base: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, base: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        self.base = base
    }

    public var remaining: Int { bytes.count - offset }

    public mutating func require(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n >= 0, n <= remaining else {
            throw LLMQError(.truncated, "file ends inside \(what()) (needs \(n) bytes, \(max(remaining, 0)) left)", offset: base + offset)
        }
    }

    public mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    public mutating func u8(_ what: @autoclosure () -> String) throws -> UInt8 { try read(UInt8.self, what()) }
    public mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try read(UInt32.self, what()) }
    public mutating func i32(_ what: @autoclosure () -> String) throws -> Int32 { try read(Int32.self, what()) }
    public mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try read(UInt64.self, what()) }
    public mutating func i64(_ what: @autoclosure () -> String) throws -> Int64 { try read(Int64.self, what()) }

    public mutating func f32(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try u32(what()))
    }

    public mutating func f64(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try u64(what()))
    }

    public mutating func bytes(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        try require(n, what())
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }

    public mutating func skip(_ n: Int, _ what: @autoclosure () -> String) throws {
        try require(n, what())
        offset += n
    }
}
