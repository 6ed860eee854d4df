import LLMQCore

/// Matrix-vector products of several matrices that read the same input — Q, K and V; gate and
/// up — done as one: the input is quantized once and the rows of all of them are split across
/// the pool in one hand-off, so a decode step pays for four hand-offs per layer instead of seven.
extension MatVec {
    /// y_i = W_i·x for every i. Matrices of one dtype (and width) share the work; mixed dtypes
    /// run one after another.
    public func callAsFunction<let N: Int>(_ w: InlineArray<N, WeightMatrix>, _ x: UnsafePointer<Float>,
                                           _ y: InlineArray<N, UnsafeMutablePointer<Float>>) {
        let dtype = w[0].dtype, cols = w[0].cols
        var uniform = true
        for i in 0..<N where w[i].dtype != dtype || w[i].cols != cols { uniform = false }
        guard uniform else {
            for i in 0..<N { self(w[i], x, y[i]) }
            return
        }
        switch dtype.kind {
        case .q8_0, .q4_0, .q4_1, .q5_0:
            quantized(w, x, count: 1, y)
        case .f32, .f16:
            var rows = InlineArray<N, Int>(repeating: 0)
            for i in 0..<N { rows[i] = w[i].rows }
            let f16 = dtype.kind == .f16
            pool.parallelFor(Self.total(rows), grain: max(1, 65536 / max(cols, 1))) { range in
                Self.segments(rows, range) { i, local in
                    for r in local { y[i][r] = f16 ? DotF32.dotF16(w[i].row(r), x, cols) : DotF32.dot(w[i].row(r), x, cols) }
                }
            }
        default:
            preconditionFailure("no matvec kernel for \(dtype); the loader must expand it")
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
