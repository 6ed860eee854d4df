#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Pages are read only when touched, so opening a
/// multi-gigabyte checkpoint costs nothing until a tensor is used.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer
    private let mapping: UnsafeMutableRawPointer?

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LLMQError(.io, "cannot open: \(String(cString: strerror(errno)))", file: path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LLMQError(.io, "cannot stat: \(String(cString: strerror(errno)))", file: path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw LLMQError(.io, "not a regular file", file: path) }
        let size = Int(st.st_size)
        if size == 0 {
            mapping = nil
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw LLMQError(.io, "cannot map \(size) bytes: \(String(cString: strerror(errno)))", file: path)
        }
        mapping = p
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    /// A file with no bytes, for models that exist only in memory (synthetic or generated tensors).
    public init(emptyNamed name: String) {
        path = name
        mapping = nil
        bytes = UnsafeRawBufferPointer(start: nil, count: 0)
    }

    public var count: Int { bytes.count }

    /// A bounds-checked view of `length` bytes at `offset`.
    public func slice(offset: Int, length: Int, what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw LLMQError(.truncated, "\(what()) needs bytes \(offset)..<\(offset &+ length) but the file has \(count)", file: path, offset: offset)
        }
        guard length > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
    }

    /// Tell the kernel we will stream through the file once (conversion) or jump around (inference).
    public func advise(sequential: Bool) {
        guard let mapping else { return }
        _ = madvise(mapping, count, sequential ? MADV_SEQUENTIAL : MADV_WILLNEED)
    }

    /// Lets the kernel drop this process's pages of a range that streaming is done with, so a
    /// conversion's resident memory stays near one tensor rather than the whole file. The bytes
    /// stay valid: touching them again reads them back from the page cache.
    public func dropPages(offset: Int, length: Int) {
        guard let mapping, offset >= 0, length > 0, offset <= count - length else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset + page - 1) / page * page
        let end = (offset + length) / page * page
        if end > start { _ = madvise(mapping + start, end - start, MADV_DONTNEED) }
    }

    deinit {
        if let mapping { munmap(mapping, count) }
    }
}
