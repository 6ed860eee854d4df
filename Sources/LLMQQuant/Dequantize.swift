import LLMQCore

/// Expands stored elements of any readable dtype to fp32. This is the one place that knows every
/// layout; writers, the engine's load path and `verify` all go through it.
public enum Dequantize {
    /// Converts elements `range` of a tensor whose whole stored data is `bytes`. For block types the
    /// range must start and end on block boundaries.
    public static func elements(_ dtype: DType, from bytes: UnsafeRawBufferPointer, range: Range<Int>,
                                into dst: UnsafeMutablePointer<Float>) throws {
        let n = range.count
        let base = bytes.baseAddress!
        switch dtype.kind {
        case .f32:
            (base + range.lowerBound * 4).withMemoryRebound(to: Float.self, capacity: n) { dst.update(from: $0, count: n) }
        case .f16:
            let src = base + range.lowerBound * 2
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self)) }
        case .bf16:
            let src = base + range.lowerBound * 2
            for i in 0..<n { dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .i8:
            let src = (base + range.lowerBound).assumingMemoryBound(to: Int8.self)
            for i in 0..<n { dst[i] = Float(src[i]) }
        case .u8:
            let src = (base + range.lowerBound).assumingMemoryBound(to: UInt8.self)
            for i in 0..<n { dst[i] = Float(src[i]) }
        case .i32:
            let src = base + range.lowerBound * 4
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
        case .i16:
            let src = base + range.lowerBound * 2
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
        case .f64:
            let src = base + range.lowerBound * 8
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        case .i64:
            let src = base + range.lowerBound * 8
            for i in 0..<n { dst[i] = Float(src.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
        case .q8_l2c:
            // Ints for the whole tensor first, then one fp32 scale per group.
            let gs = dtype.blockSize
            let total = bytes.count / (gs + 4) * gs
            let q = base.assumingMemoryBound(to: Int8.self)
            for i in range {
                let scale = base.loadUnaligned(fromByteOffset: total + (i / gs) * 4, as: Float.self)
                dst[i - range.lowerBound] = Float(q[i]) * scale
            }
        default:
            guard let codec = BlockCodecs.decoder(for: dtype.kind) else {
                throw LLMQError(.unsupported, "cannot dequantize dtype \(dtype)")
            }
            let bs = dtype.blockSize
            guard range.lowerBound % bs == 0, n % bs == 0 else {
                throw LLMQError(.invalid, "element range \(range) is not aligned to \(dtype) blocks of \(bs)")
            }
            let src = UnsafeRawBufferPointer(start: base + range.lowerBound / bs * dtype.blockBytes, count: n / bs * dtype.blockBytes)
            codec.dequantize(src, into: UnsafeMutableBufferPointer(start: dst, count: n), blockSize: bs)
        }
    }

    /// A whole tensor as fp32.
    public static func tensor(_ model: Model, _ tensor: Tensor) throws -> [Float] {
        let bytes = try model.data(tensor)
        let n = tensor.elementCount
        return try [Float](unsafeUninitializedCapacity: n) { buffer, count in
            if n > 0 { try elements(tensor.dtype, from: bytes, range: 0..<n, into: buffer.baseAddress!) }
            count = n
        }
    }

    public static func tensor(_ model: Model, named name: String) throws -> [Float] {
        try tensor(model, model.tensor(name))
    }
}

extension Dequantize {
    /// Streams a tensor as fp32 in pieces of about `chunkElements` (whole rows), so a writer's peak
    /// memory is one chunk, not one model. fp32 tensors are handed over straight from the map.
    public static func chunks(_ model: Model, _ tensor: Tensor, chunkElements: Int = 1 << 20,
                              _ body: (_ range: Range<Int>, _ values: UnsafeBufferPointer<Float>) throws -> Void) throws {
        let bytes = try model.data(tensor)
        let total = tensor.elementCount
        let rowLength = max(tensor.cols, 1)
        let step = max(1, chunkElements / rowLength) * rowLength
        if tensor.dtype == .f32, let base = bytes.baseAddress, Int(bitPattern: base) % 4 == 0 {
            let floats = base.assumingMemoryBound(to: Float.self)
            var start = 0
            while start < total {
                let end = min(total, start + step)
                try body(start..<end, UnsafeBufferPointer(start: floats + start, count: end - start))
                start = end
            }
            return
        }
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: min(step, max(total, 1)))
        defer { buffer.deallocate() }
        var start = 0
        while start < total {
            let end = min(total, start + step)
            try elements(tensor.dtype, from: bytes, range: start..<end, into: buffer)
            try body(start..<end, UnsafeBufferPointer(start: buffer, count: end - start))
            start = end
        }
    }
}
