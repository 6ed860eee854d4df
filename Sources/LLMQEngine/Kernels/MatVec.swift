import LLMQCore

/// y = W·x for every weight dtype with a kernel: the float types of `FloatKernels` and the block
/// types of `QuantizedKernels` (which quantize x once per call and use integer dot products).
/// Rows are split across the pool.
public struct MatVec {
    public let pool: ThreadPool
    /// The instruction-set level of the kernels this instance runs (integer and batched fp32).
    public let kernels: Kernels
    /// Scratch for quantized inputs, reused by every call.
    let activations = ActivationBuffer()

    /// With `kernels` nil, the process's choice (`MatVec.kernels`); a level the build or the CPU
    /// lacks is replaced by the best one it has.
    public init(pool: ThreadPool, kernels: Kernels? = nil) {
        self.pool = pool
        self.kernels = kernels.map(Kernels.supported) ?? Self.kernels
    }

    /// dtypes with a native kernel; anything else is expanded to fp32 at load.
    public static func supports(_ dtype: DType) -> Bool {
        FloatKernels.supports(dtype) || QuantizedKernels.supports(dtype)
    }

    public func callAsFunction(_ w: WeightMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        self([w], x, [y])
    }

    /// y_i = W_i·x for every i: matrices that read the same input — Q, K and V; gate and up —
    /// done as one, the input quantized once and the rows of all of them split across the pool
    /// in one hand-off, so a decode step pays for four hand-offs per layer instead of seven.
    /// Matrices of one dtype (and width) share the work; mixed dtypes run one after another.
    public func callAsFunction<let N: Int>(_ w: InlineArray<N, WeightMatrix>, _ x: UnsafePointer<Float>,
                                           _ y: InlineArray<N, UnsafeMutablePointer<Float>>) {
        let dtype = w[0].dtype, cols = w[0].cols
        var uniform = true
        for i in 0..<N where w[i].dtype != dtype || w[i].cols != cols { uniform = false }
        guard uniform else {
            for i in 0..<N { self(w[i], x, y[i]) }
            return
        }
        if QuantizedKernels.supports(dtype) {
            quantized(w, x, count: 1, y)
        } else {
            FloatProduct.multiply(w, x, count: 1, y, pool: pool, level: kernels)
        }
    }

    /// Y = X·Wᵀ for `count` input vectors at once: X is `count × w.cols`, Y is `count × w.rows`, both
    /// row-major. Each weight row is loaded once and applied to every input while it is in cache,
    /// which is what makes batched prompt processing and perplexity faster than token-by-token.
    public func batched(_ w: WeightMatrix, _ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>) {
        if QuantizedKernels.supports(w.dtype) {
            quantized([w], x, count: count, [y])
        } else {
            FloatProduct.multiply([w], x, count: count, [y], pool: pool, level: kernels)
        }
    }

    static func total<let N: Int>(_ counts: InlineArray<N, Int>) -> Int {
        var sum = 0
        for i in 0..<N { sum += counts[i] }
        return sum
    }

    /// Splits `range` of the concatenation of N index spaces of `counts` items into each one's
    /// local subrange, calling `body(i, subrange)` for the non-empty ones.
    @inline(__always)
    static func segments<let N: Int>(_ counts: InlineArray<N, Int>, _ range: Range<Int>, _ body: (Int, Range<Int>) -> Void) {
        var first = 0
        for i in 0..<N {
            let lower = max(range.lowerBound, first), upper = min(range.upperBound, first + counts[i])
            if lower < upper { body(i, (lower - first)..<(upper - first)) }
            first += counts[i]
        }
    }
}
