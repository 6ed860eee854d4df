import Dispatch

/// The second moments of one matrix product's inputs over calibration text: H = Σ x·xᵀ over the
/// positions seen (width × width). Its diagonal is the importance matrix; the off-diagonal
/// terms are what `ErrorFeedback` needs to let one column's rounding error be absorbed by the
/// columns that correlate with it.
public final class InputCovariance: @unchecked Sendable {
    public let width: Int
    public private(set) var count = 0
    /// Row-major; only j ≥ i is accumulated, `symmetric()` mirrors it (`ErrorFeedback` borrows
    /// the rest).
    private var sums: [Float]

    public init(width: Int) {
        self.width = width
        sums = [Float](repeating: 0, count: width * width)
    }

    /// Adds `rows` input vectors (row-major at `x`). The rows are transposed so that each H[i, j]
    /// is a dot product of two contiguous columns, computed in 4×4 tiles of (i, j) that load each
    /// column once for four products; tiles are split across `threads`.
    public func add(_ x: UnsafePointer<Float>, rows: Int, threads: Int = 2) {
        guard rows > 0 else { return }
        let n = width, padded = (rows + 7) / 8 * 8
        let columns = UnsafeMutablePointer<Float>.allocate(capacity: n * padded)
        defer { columns.deallocate() }
        columns.initialize(repeating: 0, count: n * padded)
        for r in 0..<rows {
            for i in 0..<n { columns[i * padded + r] = x[r * n + i] }
        }
        let tiles = (n + 3) / 4
        let threads = max(1, threads)
        sums.withUnsafeMutableBufferPointer { buffer in
            let shared = Shared(columns: columns, sums: buffer.baseAddress!)
            // Row tiles near the top have the most j ≥ i work: interleave them across threads.
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                for ti in stride(from: part, to: tiles, by: threads) {
                    for tj in ti..<tiles { shared.tile(ti * 4, tj * 4, n: n, padded: padded) }
                }
            }
        }
        count += rows
    }

    /// H as a full symmetric matrix in Double, divided by the count (mean of x·xᵀ).
    public func symmetric() -> [Double] {
        let n = width, scale = count > 0 ? 1 / Double(count) : 0
        var h = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                let v = Double(sums[i * n + j]) * scale
                h[i * n + j] = v
                h[j * n + i] = v
            }
        }
        return h
    }

    /// The row-major sums for the duration of `body`: j ≥ i as `add` accumulates them, the strict
    /// lower half free for `ErrorFeedback` to factor in.
    func withSums<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try sums.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }

    private struct Shared: @unchecked Sendable {
        let columns: UnsafeMutablePointer<Float>
        let sums: UnsafeMutablePointer<Float>

        /// H[i0..<i0+4, j0..<j0+4] += the dot products of those columns (clipped to the matrix and to j ≥ i).
        @inline(__always)
        func tile(_ i0: Int, _ j0: Int, n: Int, padded: Int) {
            var acc = InlineArray<16, SIMD8<Float>>(repeating: SIMD8<Float>())
            let raw = UnsafeRawPointer(columns)
            for r in stride(from: 0, to: padded, by: 8) {
                var a = InlineArray<4, SIMD8<Float>>(repeating: SIMD8<Float>())
                var b = InlineArray<4, SIMD8<Float>>(repeating: SIMD8<Float>())
                for k in 0..<4 {
                    let i = min(i0 + k, n - 1), j = min(j0 + k, n - 1)
                    a[k] = raw.loadUnaligned(fromByteOffset: 4 * (i * padded + r), as: SIMD8<Float>.self)
                    b[k] = raw.loadUnaligned(fromByteOffset: 4 * (j * padded + r), as: SIMD8<Float>.self)
                }
                for p in 0..<4 {
                    for q in 0..<4 { acc[4 * p + q] = acc[4 * p + q].addingProduct(a[p], b[q]) }
                }
            }
            for p in 0..<4 where i0 + p < n {
                for q in 0..<4 where j0 + q < n && j0 + q >= i0 + p {
                    sums[(i0 + p) * n + j0 + q] += acc[4 * p + q].sum()
                }
            }
        }
    }
}
