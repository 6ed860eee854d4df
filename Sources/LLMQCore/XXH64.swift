/// XXH64 (xxHash, 64-bit, as specified in `formats/llmq.md`): the container's checksum. It runs
/// at memory speed, so checking every tensor costs little next to reading it.
public struct XXH64 {
    static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    private var v1, v2, v3, v4: UInt64
    private let seed: UInt64
    /// Bytes of an incomplete 32-byte stripe carried between `update` calls.
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0
    private var total: UInt64 = 0
    /// Always 8; read from memory so the optimizer cannot prove the four lane loads adjacent and
    /// pack the lanes into AVX2, which has no 64-bit multiply (that runs at half this speed).
    private var laneBytes = 8

    public init(seed: UInt64 = 0) {
        self.seed = seed
        v1 = seed &+ XXH64.p1 &+ XXH64.p2
        v2 = seed &+ XXH64.p2
        v3 = seed
        v4 = seed &- XXH64.p1
    }

    /// The digest of `bytes` in one call.
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        var h = XXH64(seed: seed)
        h.update(bytes)
        return h.digest()
    }

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    @inline(__always) static func round(_ acc: UInt64, _ lane: UInt64) -> UInt64 {
        (acc &+ lane &* p2).rotated(31) &* p1
    }

    @inline(__always) static func merge(_ h: UInt64, _ v: UInt64) -> UInt64 {
        (h ^ round(0, v)) &* p1 &+ p4
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        total &+= UInt64(bytes.count)
        var at = 0
        if pendingCount > 0 {
            let take = min(32 - pendingCount, bytes.count)
            withUnsafeMutableBytes(of: &pending) { p in
                p.baseAddress!.advanced(by: pendingCount).copyMemory(from: base, byteCount: take)
            }
            pendingCount += take
            at = take
            guard pendingCount == 32 else { return }
            withUnsafeBytes(of: pending) { stripes($0.baseAddress!, count: 1) }
            pendingCount = 0
        }
        let whole = (bytes.count - at) / 32
        stripes(base + at, count: whole)
        at += whole * 32
        if at < bytes.count {
            withUnsafeMutableBytes(of: &pending) { p in
                p.baseAddress!.copyMemory(from: base + at, byteCount: bytes.count - at)
            }
            pendingCount = bytes.count - at
        }
    }

    @inline(__always) private mutating func stripes(_ p: UnsafeRawPointer, count: Int) {
        var a = v1, b = v2, c = v3, d = v4
        var s = p
        let w = laneBytes
        for _ in 0..<count {
            a = XXH64.round(a, UInt64(littleEndian: s.loadUnaligned(as: UInt64.self)))
            b = XXH64.round(b, UInt64(littleEndian: s.loadUnaligned(fromByteOffset: w, as: UInt64.self)))
            c = XXH64.round(c, UInt64(littleEndian: s.loadUnaligned(fromByteOffset: 2 * w, as: UInt64.self)))
            d = XXH64.round(d, UInt64(littleEndian: s.loadUnaligned(fromByteOffset: 3 * w, as: UInt64.self)))
            s += 32
        }
        v1 = a; v2 = b; v3 = c; v4 = d
    }

    public func digest() -> UInt64 {
        var h: UInt64
        if total >= 32 {
            h = v1.rotated(1) &+ v2.rotated(7) &+ v3.rotated(12) &+ v4.rotated(18)
            h = XXH64.merge(XXH64.merge(XXH64.merge(XXH64.merge(h, v1), v2), v3), v4)
        } else {
            h = seed &+ XXH64.p5
        }
        h &+= total
        withUnsafeBytes(of: pending) { tail in
            var i = 0
            while i + 8 <= pendingCount {
                h = (h ^ XXH64.round(0, UInt64(littleEndian: tail.loadUnaligned(fromByteOffset: i, as: UInt64.self)))).rotated(27) &* XXH64.p1 &+ XXH64.p4
                i += 8
            }
            if i + 4 <= pendingCount {
                h = (h ^ UInt64(UInt32(littleEndian: tail.loadUnaligned(fromByteOffset: i, as: UInt32.self))) &* XXH64.p1).rotated(23) &* XXH64.p2 &+ XXH64.p3
                i += 4
            }
            while i < pendingCount {
                h = (h ^ UInt64(tail[i]) &* XXH64.p5).rotated(11) &* XXH64.p1
                i += 1
            }
        }
        h = (h ^ (h >> 33)) &* XXH64.p2
        h = (h ^ (h >> 29)) &* XXH64.p3
        return h ^ (h >> 32)
    }

    /// 16 lowercase hex digits, as the container's metadata writes digests.
    public static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}

extension UInt64 {
    // Masking shifts, so the pair compiles to one rotate instruction.
    @inline(__always) func rotated(_ k: UInt64) -> UInt64 { (self &<< k) | (self &>> (64 &- k)) }
}

#if canImport(Glibc)
import Glibc
#endif

extension XXH64 {
    /// The digest of a whole file, read in 256 KiB pieces (they stay in L2 cache between the copy and the hash) with `read(2)` rather than through a memory
    /// map, so hashing a large input neither makes it resident nor costs a page fault per 4 KiB.
    public static func hash(fileAt path: String) throws -> UInt64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LLMQError(.io, "cannot open: \(String(cString: strerror(errno)))", file: path) }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 64)
        defer { buffer.deallocate() }
        var h = XXH64()
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw LLMQError(.io, "read failed: \(String(cString: strerror(errno)))", file: path)
            }
            if n == 0 { break }
            h.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
        return h.digest()
    }
}
