import LLMQCore

/// Y_i = X·W_iᵀ for float rows, row by row (`BatchedF32` tiles fp32 batches instead): the rows
/// of all N matrices form one index space split across the pool.
struct FloatProduct<let N: Int>: FloatKernelVisitor {
    let w: InlineArray<N, WeightMatrix>
    let x: UnsafePointer<Float>
    let count: Int
    let y: InlineArray<N, UnsafeMutablePointer<Float>>
    let pool: ThreadPool

    func visit<K: FloatKernel>(_: K.Type) {
        var rows = InlineArray<N, Int>(repeating: 0)
        for i in 0..<N { rows[i] = w[i].rows }
        let w = w, x = x, count = count, y = y, cols = w[0].cols
        // Aim for ≥ 64K multiply-adds per thread before splitting.
        pool.parallelFor(MatVec.total(rows), grain: max(1, 65536 / max(cols * count, 1))) { range in
            MatVec.segments(rows, range) { i, local in
                for r in local {
                    let row = w[i].row(r)
                    for t in 0..<count { y[i][t * w[i].rows + r] = K.dot(row, x + t * cols, cols) }
                }
            }
        }
    }
}
