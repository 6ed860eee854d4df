import LLMQCore

/// The matrix-vector and matrix-matrix kernels of the block types: inputs are quantized once per
/// call (`ActivationBuffer`), then `QuantizedProduct` — the x86 tiles, or the portable kernels
/// elsewhere — meets them with the weight blocks in place; rows are split across the pool.
extension MatVec {
    /// Y_i = X·W_iᵀ for `count` inputs and N matrices of one block dtype and width (X is
    /// `count × cols`, Y_i is `count × W_i.rows`, row-major).
    func quantized<let N: Int>(_ w: InlineArray<N, WeightMatrix>, _ x: UnsafePointer<Float>, count: Int,
                               _ y: InlineArray<N, UnsafeMutablePointer<Float>>) {
        let kernel = QuantizedKernels.kernel(w[0].dtype)
        let inputs = activations.quantize(x, count: count, cols: w[0].cols, halves: kernel.halves, pool: pool)
        QuantizedProduct(w: w, x: inputs, count: count, y: y, pool: pool, kernels: kernels)
            .run(kernel.rows(subBlocks: w[0].dtype.blockSize / 32))
    }
}
