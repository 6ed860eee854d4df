import LLMQCore

/// y = W·x for every weight dtype the engine runs natively. Rows are split across the pool.
/// Quantized types quantize x once per call (see `ActivationBuffer`) and use integer dot products.
public struct MatVec {
    public let pool: ThreadPool
    /// Scratch for quantized inputs, reused by every call.
    let activations = ActivationBuffer()

    public init(pool: ThreadPool) { self.pool = pool }

    /// dtypes with a native kernel; anything else is expanded to fp32 at load.
    public static func supports(_ dtype: DType) -> Bool {
        dtype == .f32 || dtype == .f16 || hasQuantizedKernel(dtype)
    }

    public func callAsFunction(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let cols = w.cols
        // Aim for ≥ 64K multiply-adds per thread before splitting.
        let grain = max(1, 65536 / max(cols, 1))
        switch w.dtype.kind {
        case .f32:
            pool.parallelFor(w.rows, grain: grain) { range in
                for r in range { y[r] = DotF32.dot(w.row(r), x, cols) }
            }
        case .f16:
            pool.parallelFor(w.rows, grain: grain) { range in
                for r in range { y[r] = DotF32.dotF16(w.row(r), x, cols) }
            }
        case .q8_0, .q4_0, .q4_1, .q5_0:
            quantized([w], x, count: 1, [y])
        default:
            preconditionFailure("no matvec kernel for \(w.dtype); the loader must expand it")
        }
    }
}

extension MatVec {
    /// Y = X·Wᵀ for `count` input vectors at once: X is `count × w.cols`, Y is `count × w.rows`, both
    /// row-major. Each weight row is loaded once and applied to every input while it is in cache,
    /// which is what makes batched prompt processing and perplexity faster than token-by-token.
    public func batched(_ w: WeightMatrix, _ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>) {
        let cols = w.cols, rows = w.rows
        let grain = max(1, 65536 / max(cols * count, 1))
        switch w.dtype.kind {
        case .f32:
            // Whole 4-row tiles per thread.
            pool.parallelFor((rows + 3) / 4, grain: max(1, grain / 4)) { blocks in
                BatchedF32.multiply(w, x, count: count, y, rows: (4 * blocks.lowerBound)..<min(4 * blocks.upperBound, rows))
            }
        case .f16:
            pool.parallelFor(rows, grain: grain) { range in
                for r in range {
                    let row = w.row(r)
                    for t in 0..<count { y[t * rows + r] = DotF32.dotF16(row, x + t * cols, cols) }
                }
            }
        case .q8_0, .q4_0, .q4_1, .q5_0:
            quantized([w], x, count: count, [y])
        default:
            preconditionFailure("no batched kernel for \(w.dtype); the loader must expand it")
        }
    }
}
