import LLMQCore

/// Encodes fp32 values into every dtype llmq writes: f32, f16 and bf16 (rounded to nearest even),
/// and the block types of `BlockCodecs.codecs` at their valid group sizes. The inverse of `Dequantize`.
public enum Quantize {
    public static func canEncode(_ dtype: DType) -> Bool {
        switch dtype.kind {
        case .f32, .f16, .bf16: true
        default: BlockCodecs.codec(for: dtype.kind) != nil && dtype.isValidBlockSize
        }
    }

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
        guard n > 0, let out = dst.baseAddress else { return }
        switch dtype.kind {
        case .f32:
            out.copyMemory(from: src.baseAddress!, byteCount: n * 4)
        case .f16:
            for i in 0..<n { out.storeBytes(of: Float16(src[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0..<n { out.storeBytes(of: bf16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        default:
            try requireFinite(src, as: dtype)
            let codec = BlockCodecs.codec(for: dtype.kind)!
            codec.quantize(src, into: dst, blockSize: dtype.blockSize, importance: importance)
            try checkScales(UnsafeRawBufferPointer(dst), dtype, layout: codec.layout)
        }
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
    static func checkScales(_ bytes: UnsafeRawBufferPointer, _ dtype: DType, layout: BlockLayout) throws {
        let base = bytes.baseAddress!
        let fields = [layout.scaleOffset] + (layout.minOffset.map { [$0] } ?? [])
        for b in 0..<bytes.count / dtype.blockBytes {
            let block = base + b * dtype.blockBytes
            for offset in fields where !Half.load(block, offset).isFinite {
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

    /// fp32 → bf16 as ggml's `ggml_compute_fp32_to_bf16`: round to nearest even, NaNs kept quiet.
    @inline(__always)
    public static func bf16(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: u >> 16) | 0x40 }
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }
}
