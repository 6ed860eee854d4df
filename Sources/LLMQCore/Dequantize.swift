
/// Expands stored elements of any dtype to fp32 with the block type's reference decoder; writers,
/// the engine's load path and `verify` all go through it.
public enum Dequantize {
    /// Converts elements `range` of a tensor whose whole stored data is `bytes`. For block types the
    /// range must start and end on block boundaries.
    public static func elements(_ dtype: DType, from bytes: UnsafeRawBufferPointer, range: Range<Int>,
                                into dst: UnsafeMutablePointer<Float>) throws {
        let n = dtype.blockSize
        if !dtype.type.spansRows, range.lowerBound % n != 0 || range.count % n != 0 {
            throw LLMQError(.invalid, "element range \(range) is not aligned to \(dtype) blocks of \(n)")
        }
        dtype.type.decode(bytes, elements: range, groupSize: n, into: dst)
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
