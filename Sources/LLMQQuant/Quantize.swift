import LLMQBlocks
import LLMQCore

/// Encodes fp32 values into every dtype llmq writes (`BlockTypes.encodable`, at group sizes they
/// accept) with checks the reference encoders leave to their callers. The inverse of `Dequantize`.
public enum Quantize {
    public static func canEncode(_ dtype: DType) -> Bool { dtype.encoder != nil }

    /// Encodes `src` as `dtype` into `dst`, which must be exactly the encoded size. For block types
    /// `src.count` must be a whole number of blocks and every value finite (a block's scale comes from
    /// its extremes, so one NaN or infinity would wreck the whole block).
    public static func elements(_ src: UnsafeBufferPointer<Float>, as dtype: DType, into dst: UnsafeMutableRawBufferPointer,
                                importance: UnsafeBufferPointer<Float>? = nil) throws {
        guard canEncode(dtype) else { throw LLMQError(.unsupported, "cannot encode dtype \(dtype)") }
        let n = src.count
        guard n % dtype.blockSize == 0 else {
            throw LLMQError(.invalid, "\(n) values are not a whole number of \(dtype) blocks of \(dtype.blockSize)")
        }
        let expected = n / dtype.blockSize * dtype.blockBytes
        guard dst.count == expected else {
            throw LLMQError(.invalid, "\(n) values encode to \(expected) bytes of \(dtype), not \(dst.count)")
        }
        if let importance, importance.count != n {
            throw LLMQError(.invalid, "\(importance.count) importance weights for \(n) values")
        }
        guard n > 0, let out = dst.baseAddress, let encoder = dtype.encoder else { return }
        if encoder.needsFiniteValues { try requireFinite(src, as: dtype) }
        encoder.encodeBlocks(src.baseAddress!, count: n / dtype.blockSize, groupSize: dtype.blockSize,
                             importance: importance?.baseAddress, into: out)
        try checkParameters(UnsafeRawBufferPointer(dst), dtype, encoder)
    }

    /// Block types derive a block's scale from its values: one NaN or infinity would wreck it.
    static func requireFinite(_ src: UnsafeBufferPointer<Float>, as dtype: DType) throws {
        if src.count > 0, !allFinite(src), let bad = src.firstIndex(where: { !$0.isFinite }) {
            throw LLMQError(.invalid, "element \(bad) is \(src[bad]); \(dtype) needs finite values")
        }
    }

    /// x · 0 is NaN exactly for NaN and ±inf, and a NaN poisons the sum: one vector pass, no branches.
    private static func allFinite(_ src: UnsafeBufferPointer<Float>) -> Bool {
        let raw = UnsafeRawPointer(src.baseAddress!)
        var probe = SIMD8<Float>()
        var i = 0
        while i + 8 <= src.count {
            probe += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self) * 0
            i += 8
        }
        var tail: Float = 0
        while i < src.count {
            tail += src[i] * 0
            i += 1
        }
        return !(probe.sum() + tail).isNaN
    }

    /// A block whose scale or minimum exceeds fp16's ±65504 would decode to infinities: refuse it
    /// rather than write garbage.
    static func checkParameters(_ bytes: UnsafeRawBufferPointer, _ dtype: DType, _ encoder: any EncodableType.Type) throws {
        let fields = encoder.halfParameters(groupSize: dtype.blockSize)
        guard !fields.isEmpty, let base = bytes.baseAddress else { return }
        for b in 0..<bytes.count / dtype.blockBytes {
            let block = base + b * dtype.blockBytes
            for offset in fields where !Float(block.loadUnaligned(fromByteOffset: offset, as: Float16.self)).isFinite {
                let first = b * dtype.blockSize
                throw LLMQError(.invalid, "elements \(first)..<\(first + dtype.blockSize) need a \(dtype) scale beyond fp16's ±65504")
            }
        }
    }

    /// A whole tensor of `shape` (outermost first) encoded as `dtype`; rows must be whole blocks.
    public static func tensor(_ values: [Float], shape: [Int], as dtype: DType) throws -> [UInt8] {
        // byteCount checks for overflow, so the element product below cannot overflow.
        guard let bytes = dtype.byteCount(shape: shape) else {
            throw LLMQError(.invalid, "rows of \(shape.last ?? 0) are not a whole number of \(dtype) blocks of \(dtype.blockSize)")
        }
        guard values.count == shape.reduce(1, *) else {
            throw LLMQError(.invalid, "\(values.count) values do not fill shape \(shape)")
        }
        var out = [UInt8](repeating: 0, count: bytes)
        try values.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBytes { try elements(src, as: dtype, into: $0) }
        }
        return out
    }
}
