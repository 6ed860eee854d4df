
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
    /// Streams a tensor as fp32 in pieces of about `chunkElements` (whole rows; the same pieces
    /// whatever the tensor's producer cuts), so a writer's peak memory is one chunk, not one
    /// model. fp32 pieces are handed over in place.
    public static func chunks(_ model: Model, _ tensor: Tensor, chunkElements: Int = 1 << 20,
                              _ body: (_ range: Range<Int>, _ values: UnsafeBufferPointer<Float>) throws -> Void) throws {
        let total = tensor.elementCount
        let rowLength = max(tensor.cols, 1)
        let stepRows = max(1, chunkElements / rowLength)
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: min(stepRows * rowLength, max(total, 1)))
        defer { buffer.deallocate() }
        var start = 0
        /// Elements `range` of the tensor from `bytes`, which hold its elements from `first` on.
        func piece(_ bytes: UnsafeRawBufferPointer, from first: Int, elements range: Range<Int>) throws {
            guard !range.isEmpty else { return }
            if tensor.dtype == .f32, let base = bytes.baseAddress, Int(bitPattern: base) % 4 == 0 {
                let floats = (base + 4 * (range.lowerBound - first)).assumingMemoryBound(to: Float.self)
                return try body(range, UnsafeBufferPointer(start: floats, count: range.count))
            }
            try elements(tensor.dtype, from: bytes, range: (range.lowerBound - first)..<(range.upperBound - first), into: buffer)
            try body(range, UnsafeBufferPointer(start: buffer, count: range.count))
        }
        // Blocks that run across rows cannot be cut by rows: such tensors are expanded from the whole.
        if tensor.dtype.type.spansRows {
            let bytes = try model.data(tensor)
            while start < total {
                let end = min(total, start + stepRows * rowLength)
                try piece(bytes, from: 0, elements: start..<end)
                start = end
            }
            return
        }
        let regroup = RowRegrouper(rowBytes: tensor.rowBytes, rows: stepRows)
        func next(_ bytes: UnsafeRawBufferPointer) throws {
            let count = tensor.rowBytes > 0 ? bytes.count / tensor.rowBytes * rowLength : total
            try piece(bytes, from: start, elements: start..<start + count)
            start += count
        }
        try model.stream(tensor, rows: stepRows) { try regroup.add($0, next) }
        try regroup.finish(next)
    }
}
