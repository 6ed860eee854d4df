import Dispatch
import LLMQCore

/// What `BitAllocation` scales sensitivities by: a matrix's importance-weighted squared rounding
/// error Σ w_col·(x − x̂)² at each candidate type, measured by quantizing (with the scale search
/// when asked) an even sample of its rows rather than the whole matrix — the ratio between types
/// is what matters, and a sample of 128 rows pins it to within a few percent.
public enum RoundingError {
    /// Rows sampled per matrix.
    public static let sampleRows = 128

    /// One error per type in `types`, in order. `columnWeights` nil weighs every column 1. The
    /// types run side by side on up to `threads` threads (nil: as many as there are types).
    public static func estimate(_ model: Model, _ tensor: Tensor, types: [DType], columnWeights: [Float]?,
                                search: Bool, threads: Int? = nil) throws -> [Double] {
        let rows = tensor.rows, cols = tensor.cols
        let picked = Array(Set((0..<min(rows, sampleRows)).map { $0 * rows / min(rows, sampleRows) })).sorted()
        let data = try model.data(tensor)
        let bytesPerRow = tensor.dtype.byteCount(shape: [1, cols]) ?? 0
        var rowsRead = [Float](repeating: 0, count: picked.count * cols)
        try rowsRead.withUnsafeMutableBufferPointer { out in
            for (k, r) in picked.enumerated() {
                let row = UnsafeRawBufferPointer(rebasing: data[r * bytesPerRow..<(r + 1) * bytesPerRow])
                try Dequantize.elements(tensor.dtype, from: row, range: 0..<cols, into: out.baseAddress! + k * cols)
            }
        }
        let sample = rowsRead
        let weights = columnWeights ?? [Float](repeating: 1, count: cols)
        let elementWeights = search ? Array((0..<picked.count).map { _ in weights }.joined()) : nil
        /// The weighted error of the sample rounded to `type` and back.
        @Sendable func measure(_ type: DType) throws -> Double {
            let encoded = try sample.withUnsafeBufferPointer { src -> [UInt8] in
                var bytes = [UInt8](repeating: 0, count: type.byteCount(shape: [picked.count, cols]) ?? 0)
                let importance = type.isBlockQuantized ? elementWeights : nil
                try bytes.withUnsafeMutableBytes { dst in
                    if let importance {
                        try importance.withUnsafeBufferPointer { try Quantize.elements(src, as: type, into: dst, importance: $0) }
                    } else {
                        try Quantize.elements(src, as: type, into: dst)
                    }
                }
                return bytes
            }
            var restored = [Float](repeating: 0, count: sample.count)
            try encoded.withUnsafeBytes { raw in
                try restored.withUnsafeMutableBufferPointer { try Dequantize.elements(type, from: raw, range: 0..<sample.count, into: $0.baseAddress!) }
            }
            return sample.withUnsafeBufferPointer { a in
                restored.withUnsafeBufferPointer { b in ImportanceMatrix.weightedError(a, b, weights: weights) }
            }
        }
        let failure = Locked<LLMQError?>(nil)
        let results = Locked([Double](repeating: 0, count: types.count))
        // The scale search costs ~25 passes per block: the types run side by side, on at most `threads`.
        let parts = max(1, min(threads ?? types.count, types.count))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            for i in stride(from: part, to: types.count, by: parts) {
                do {
                    let e = try measure(types[i])
                    results.withLock { $0[i] = e }
                } catch {
                    failure.withLock { $0 = $0 ?? (error as? LLMQError ?? LLMQError(.invalid, "\(error)")) }
                }
            }
        }
        if let e = failure.withLock({ $0 }) { throw e.forTensor(tensor.name) }
        return results.withLock { $0 }
    }
}

extension ImportanceMatrix {
    /// Σ over all elements of w_col · (x − x̂)²: the importance-weighted squared error of a
    /// quantized matrix (`reference` and `approximation` row-major, `weights` one per column).
    public static func weightedError(_ reference: UnsafeBufferPointer<Float>, _ approximation: UnsafeBufferPointer<Float>,
                                     weights: [Float]) -> Double {
        let cols = weights.count
        guard cols > 0 else { return 0 }
        var total = 0.0
        weights.withUnsafeBufferPointer { w in
            for start in stride(from: 0, to: reference.count, by: cols) {
                var row: Float = 0
                for j in 0..<cols {
                    let d = reference[start + j] - approximation[start + j]
                    row += w[j] * d * d
                }
                total += Double(row)
            }
        }
        return total
    }
}
