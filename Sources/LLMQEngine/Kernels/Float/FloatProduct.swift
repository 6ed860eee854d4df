import LLMQCore

/// Y_i = X·W_iᵀ for float rows, row by row (`BatchedF32` tiles fp32 batches instead): the rows
/// of all N matrices form one index space split across the pool.
enum FloatProduct {
    static func multiply<let N: Int>(_ w: InlineArray<N, WeightMatrix>, _ x: UnsafePointer<Float>, count: Int,
                                     _ y: InlineArray<N, UnsafeMutablePointer<Float>>, pool: ThreadPool) {
        let product = FloatKernels.kernel(w[0].dtype).rows()
        var rows = InlineArray<N, Int>(repeating: 0)
        for i in 0..<N { rows[i] = w[i].rows }
        // Aim for ≥ 64K multiply-adds per thread before splitting.
        pool.parallelFor(MatVec.total(rows), grain: max(1, 65536 / max(w[0].cols * count, 1))) { range in
            MatVec.segments(rows, range) { i, local in product(w[i], local, x, count, y[i]) }
        }
    }
}
