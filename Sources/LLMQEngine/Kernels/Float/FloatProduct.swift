import LLMQCore

/// Y_i = X·W_iᵀ for float rows: the rows of all N matrices form one index space split across the
/// pool, in whole 4-row tiles when there are several inputs (`BatchedFloat`'s register tile).
enum FloatProduct {
    static func multiply<let N: Int>(_ w: InlineArray<N, WeightMatrix>, _ x: UnsafePointer<Float>, count: Int,
                                     _ y: InlineArray<N, UnsafeMutablePointer<Float>>, pool: ThreadPool,
                                     level: MatVec.Kernels) {
        let product = FloatKernels.kernel(w[0].dtype).rows()
        let tile = count == 1 ? 1 : 4
        var units = InlineArray<N, Int>(repeating: 0)
        for i in 0..<N { units[i] = (w[i].rows + tile - 1) / tile }
        // Aim for ≥ 64K multiply-adds per thread before splitting.
        pool.parallelFor(MatVec.total(units), grain: max(1, 65536 / max(tile * w[0].cols * count, 1))) { range in
            MatVec.segments(units, range) { i, local in
                let rows = (tile * local.lowerBound)..<min(w[i].rows, tile * local.upperBound)
                if !BatchedFloat.multiplyWide(w[i], x, count: count, y[i], rows: rows, level: level) {
                    product(w[i], rows, x, count, y[i])
                }
            }
        }
    }
}
