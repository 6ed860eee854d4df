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
        let tiles = (n + 3) / 4, blocks = (tiles + 15) / 16
        let threads = max(1, threads)
        sums.withUnsafeMutableBufferPointer { buffer in
            let shared = Shared(columns: columns, sums: buffer.baseAddress!)
            // 64 × 64 blocks of H, so that two blocks' columns stay in cache while their tiles are
            // summed; row blocks near the top have the most j ≥ i work: interleave them across
            // threads. Each tile is the same sum whatever the order.
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                for bi in stride(from: part, to: blocks, by: threads) {
                    for bj in bi..<blocks {
                        for ti in 16 * bi..<min(16 * bi + 16, tiles) {
                            for tj in max(ti, 16 * bj)..<min(16 * bj + 16, tiles) { shared.tile(ti * 4, tj * 4, n: n, padded: padded) }
                        }
                    }
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

        /// H[i0..<i0+4, j0..<j0+4] += the dot products of those columns (clipped to the matrix and
        /// to j ≥ i), two rows of the tile at a time so that the eight sums stay in registers.
        @inline(__always)
        func tile(_ i0: Int, _ j0: Int, n: Int, padded: Int) {
            let raw = UnsafeRawPointer(columns)
            @inline(__always) func column(_ c: Int, _ r: Int) -> SIMD8<Float> {
                raw.loadUnaligned(fromByteOffset: 4 * (min(c, n - 1) * padded + r), as: SIMD8<Float>.self)
            }
            for i in stride(from: i0, to: min(i0 + 4, n), by: 2) {
                var s00 = SIMD8<Float>(), s01 = SIMD8<Float>(), s02 = SIMD8<Float>(), s03 = SIMD8<Float>()
                var s10 = SIMD8<Float>(), s11 = SIMD8<Float>(), s12 = SIMD8<Float>(), s13 = SIMD8<Float>()
                for r in stride(from: 0, to: padded, by: 8) {
                    let a0 = column(i, r), a1 = column(i + 1, r)
                    let b0 = column(j0, r), b1 = column(j0 + 1, r), b2 = column(j0 + 2, r), b3 = column(j0 + 3, r)
                    s00 = s00.addingProduct(a0, b0); s01 = s01.addingProduct(a0, b1)
                    s02 = s02.addingProduct(a0, b2); s03 = s03.addingProduct(a0, b3)
                    s10 = s10.addingProduct(a1, b0); s11 = s11.addingProduct(a1, b1)
                    s12 = s12.addingProduct(a1, b2); s13 = s13.addingProduct(a1, b3)
                }
                @inline(__always) func add(_ p: Int, _ q: Int, _ v: SIMD8<Float>) {
                    if i + p < n && j0 + q < n && j0 + q >= i + p { sums[(i + p) * n + j0 + q] += v.sum() }
                }
                add(0, 0, s00); add(0, 1, s01); add(0, 2, s02); add(0, 3, s03)
                add(1, 0, s10); add(1, 1, s11); add(1, 2, s12); add(1, 3, s13)
            }
        }
    }
}
