#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streams a new file into a temporary beside its destination and renames it into place only on
/// `commit()`. A crash, a kill or a full disk leaves the destination as it was. On Linux the
/// temporary has no name until `commit()` (O_TMPFILE), so even `kill -9` leaves nothing behind and
/// the kernel frees its blocks; where the file system cannot do that, it is the hidden file
/// `temporaryPath`, removed on every failure the process survives.
public final class AtomicFileWriter {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var anonymous: Bool
    private var buffer: UnsafeMutableRawBufferPointer
    private var buffered = 0
    public private(set) var position = 0
    private var finished = false

    /// - Parameter inputs: files this write reads from; writing over any of them is refused.
    public init(path: String, refusingToOverwrite inputs: [String] = []) throws {
        self.path = path
        for input in inputs where AtomicFileWriter.sameFile(input, path) {
            throw LLMQError(.usage, "refusing to overwrite the input file \(input)", file: path)
        }
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = "\(dir).\(base).llmq-tmp-\(getpid())"
        fd = AtomicFileWriter.openUnnamed(in: dir.isEmpty ? "." : dir)
        anonymous = fd >= 0
        if !anonymous { fd = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        guard fd >= 0 else {
            throw LLMQError(.io, "cannot create \(temporaryPath): \(String(cString: strerror(errno)))", file: path)
        }
        buffer = .allocate(byteCount: 1 << 20, alignment: 64)
    }

    deinit {
        if !finished { abort() }
        buffer.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        if buffered + bytes.count > buffer.count { try flush() }
        if bytes.count >= buffer.count {
            try writeAll(bytes)
        } else {
            UnsafeMutableRawBufferPointer(rebasing: buffer[buffered...]).copyMemory(from: bytes)
            buffered += bytes.count
        }
        position += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write<T: FixedWidthInteger>(_ value: T) throws {
        try withUnsafeBytes(of: value.littleEndian) { try write($0) }
    }

    public func write(_ value: Float) throws { try write(value.bitPattern) }

    public func writeZeros(_ count: Int) throws {
        let zeros = [UInt8](repeating: 0, count: min(count, 4096))
        var left = count
        while left > 0 {
            let n = min(left, zeros.count)
            try zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            left -= n
        }
    }

    /// Pads with zeros up to the next multiple of `alignment`.
    public func align(to alignment: Int) throws {
        let pad = (alignment - position % alignment) % alignment
        try writeZeros(pad)
    }

    /// Overwrites bytes already written at `offset` (a header whose fields are known only at the end).
    public func patch(at offset: Int, _ bytes: [UInt8]) throws {
        guard offset >= 0, offset + bytes.count <= position else {
            throw LLMQError(.usage, "patch of \(bytes.count) bytes at \(offset) is outside the \(position) written", file: path)
        }
        try flush()
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw LLMQError(.io, "write failed at offset \(offset + done): \(String(cString: strerror(errno)))", file: path)
            }
            done += n
        }
    }

    /// Flushes, syncs and renames the temporary file over the destination.
    public func commit() throws {
        do {
            try flush()
            guard fsync(fd) == 0 else { throw LLMQError(.io, "fsync failed: \(String(cString: strerror(errno)))", file: path) }
            if anonymous {
                // Name it (linkat cannot replace a file), then rename over the destination atomically.
                unlink(temporaryPath)
                guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, temporaryPath, AT_SYMLINK_FOLLOW) == 0 else {
                    throw LLMQError(.io, "cannot link \(temporaryPath): \(String(cString: strerror(errno)))", file: path)
                }
                anonymous = false
            }
            // Rename before closing: a kill between the link and the rename is the one moment that
            // leaves a named temporary behind, so nothing else runs between them.
            guard rename(temporaryPath, path) == 0 else {
                throw LLMQError(.io, "cannot rename \(temporaryPath) into place: \(String(cString: strerror(errno)))", file: path)
            }
            finished = true
            guard close(fd) == 0 else { fd = -1; throw LLMQError(.io, "close failed: \(String(cString: strerror(errno)))", file: path) }
            fd = -1
        } catch {
            abort()
            throw error
        }
    }

    /// Discards everything written; the destination is untouched.
    public func abort() {
        if fd >= 0 { close(fd); fd = -1 }
        if !anonymous { unlink(temporaryPath) }
        finished = true
    }

    /// An unnamed file in `dir` (Linux O_TMPFILE), or -1 where that is unavailable.
    private static func openUnnamed(in dir: String) -> Int32 {
        #if os(Linux)
        // Glibc's O_TMPFILE is a compound macro Swift does not import: __O_TMPFILE (0o20000000 on
        // x86-64 and arm64) | O_DIRECTORY. Without /proc the file could not be named at commit.
        guard access("/proc/self/fd", X_OK) == 0 else { return -1 }
        return open(dir, Int32(0o20000000) | O_DIRECTORY | O_WRONLY | O_CLOEXEC, 0o644)
        #else
        return -1
        #endif
    }

    private func flush() throws {
        guard buffered > 0 else { return }
        try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<buffered]))
        buffered = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                throw LLMQError(.io, "write failed after \(position) bytes: \(reason)", file: path)
            }
            done += n
        }
        written += bytes.count
        startWriteback()
    }

    /// Bytes handed to the kernel, and how many of them it has been asked to write back.
    private var written = 0
    private var writebackRequested = 0
    static let writebackStep = 8 << 20

    /// Asks the kernel to start writing back what was written so far, every `writebackStep` bytes,
    /// so that the disk works while the rest is encoded and `commit()`'s fsync finds little left
    /// (a 90 MB file otherwise waits ~0.2 s in fsync). Linux's POSIX_FADV_DONTNEED starts
    /// asynchronous writeback of the range's dirty pages; the writer never reads them back.
    private func startWriteback() {
        guard written - writebackRequested >= Self.writebackStep else { return }
        _ = posix_fadvise(fd, off_t(writebackRequested), off_t(written - writebackRequested), POSIX_FADV_DONTNEED)
        writebackRequested = written
    }

    /// True when both paths name the same existing file (hard links and symlinks included).
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}
