import CZstd
import LLMQCore

/// One-frame zstd compression of tensor data through libzstd.
public enum Zstd {
    public static let levels = Int(ZSTD_minCLevel())...Int(ZSTD_maxCLevel())
    public static let defaultLevel = 3

    /// One frame with the content size in its header (the spec requires it) and zstd's own checksum
    /// of the content (so a decompressor fault cannot pass unseen), or nil when the frame would
    /// not be smaller than the input.
    static func compress(_ src: UnsafeRawBufferPointer, level: Int, threads: Int) throws -> [UInt8]? {
        let bound = ZSTD_compressBound(src.count)
        guard let context = ZSTD_createCCtx() else { throw LLMQError(.io, "zstd: cannot create a compression context") }
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(level))
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        // Worker threads split large tensors into jobs; zstd's output is the same for any count ≥ 1,
        // so files do not depend on the machine. (A libzstd without threads refuses; that is fine.)
        ZSTD_CCtx_setParameter(context, ZSTD_c_nbWorkers, Int32(max(1, threads)))
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            ZSTD_compress2(context, dst.baseAddress, dst.count, src.baseAddress, src.count)
        }
        guard ZSTD_isError(n) == 0 else { throw LLMQError(.io, "zstd: \(String(cString: ZSTD_getErrorName(n)))") }
        guard n < src.count else { return nil }
        out.removeSubrange(n...)
        return out
    }

    /// Checks that `frame` is exactly one zstd frame declaring `rawLength` bytes of content,
    /// without decompressing it.
    static func checkFrame(_ frame: UnsafeRawBufferPointer, rawLength: Int) throws {
        let size = ZSTD_findFrameCompressedSize(frame.baseAddress, frame.count)
        guard ZSTD_isError(size) == 0 else {
            throw LLMQError(.invalid, "stored bytes are not a zstd frame (\(String(cString: ZSTD_getErrorName(size))))")
        }
        guard size == frame.count else {
            throw LLMQError(.invalid, "the zstd frame is \(size) bytes but stored_length is \(frame.count)")
        }
        let content = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
        guard content == UInt64(rawLength) else {
            let said = content == ZSTD_CONTENTSIZE_UNKNOWN ? "no content size" : "content size \(content)"
            throw LLMQError(.invalid, "the zstd frame declares \(said), raw_length is \(rawLength)")
        }
    }

    /// Decompresses one frame that must produce exactly `rawLength` bytes. The output grows as data
    /// arrives, so a frame that lies about its size costs no more memory than it really expands to.
    static func decompress(_ frame: UnsafeRawBufferPointer, rawLength: Int) throws -> [UInt8] {
        guard let stream = ZSTD_createDStream() else { throw LLMQError(.io, "zstd: cannot create a decompression context") }
        defer { ZSTD_freeDStream(stream) }
        var out = [UInt8](repeating: 0, count: min(rawLength, max(1 << 20, frame.count * 8)))
        var input = ZSTD_inBuffer(src: frame.baseAddress, size: frame.count, pos: 0)
        var produced = 0
        var finished = false
        while true {
            if produced == out.count && out.count < rawLength {
                out += [UInt8](repeating: 0, count: min(out.count, rawLength - out.count))
            }
            let before = input.pos
            let (status, written) = out.withUnsafeMutableBytes { dst -> (Int, Int) in
                var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: produced)
                let status = ZSTD_decompressStream(stream, &output, &input)
                return (status, output.pos)
            }
            guard ZSTD_isError(status) == 0 else {
                throw LLMQError(.integrity, "zstd: \(String(cString: ZSTD_getErrorName(status))) after \(written) bytes")
            }
            let progressed = written > produced || input.pos > before
            produced = written
            // Done, or stuck: the frame ended early or wants to write past raw_length.
            finished = status == 0
            if finished || !progressed { break }
        }
        guard finished, produced == rawLength, input.pos == frame.count else {
            throw LLMQError(.integrity, "zstd frame\(finished ? "" : " is incomplete or too long; it") decompresses to \(produced) bytes (\(input.pos) of \(frame.count) read), expected \(rawLength)")
        }
        return out
    }
}
