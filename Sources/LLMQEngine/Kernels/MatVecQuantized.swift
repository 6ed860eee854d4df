import LLMQCore

/// The matrix-vector kernels of the block types: x is quantized once per call, then every row's
/// blocks meet it in integer dot products, rows split across the pool.
extension MatVec {
    static func hasQuantizedKernel(_ dtype: DType) -> Bool {
        [.q8_0, .q4_0, .q4_1].contains(dtype.kind) && dtype.isValidBlockSize
    }

    /// Y = X·Wᵀ for `count` inputs (X is `count × w.cols`, Y is `count × w.rows`, row-major). Each
    /// weight row is read once and applied to every input while it is in cache.
    func quantized(_ w: WeightMatrix, _ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>) {
        activations.quantize(x, count: count, cols: w.cols, pool: pool)
        func forGroup<K: BlockKernel>(_ kernel: K.Type) {
            switch w.dtype.blockSize {
            case 32: rows(K.self, Group32.self, w, count: count, y)
            case 64: rows(K.self, Group64.self, w, count: count, y)
            case 128: rows(K.self, Group128.self, w, count: count, y)
            case 256: rows(K.self, Group256.self, w, count: count, y)
            default: preconditionFailure("no kernel for \(w.dtype); the loader must expand it")
            }
        }
        switch w.dtype.kind {
        case .q8_0: forGroup(Q8_0Kernel.self)
        case .q4_0: forGroup(Q4_0Kernel.self)
        case .q4_1: forGroup(Q4_1Kernel.self)
        default: preconditionFailure("no kernel for \(w.dtype); the loader must expand it")
        }
    }

    private func rows<K: BlockKernel, G: GroupSize>(_ kernel: K.Type, _ group: G.Type, _ w: WeightMatrix, count: Int,
                                                    _ y: UnsafeMutablePointer<Float>) {
        let rows = w.rows, cols = w.cols
        let activations = activations
        // Integer kernels run at several elements per nanosecond: hand a thread ≥ 128K of them.
        pool.parallelFor(rows, grain: max(1, 131_072 / max(cols * count, 1))) { range in
            for r in range {
                let row = w.row(r)
                for t in 0..<count {
                    y[t * rows + r] = QuantizedDot.row(K.self, G.self, row, activations.vector(t, cols: cols))
                }
            }
        }
    }
}
