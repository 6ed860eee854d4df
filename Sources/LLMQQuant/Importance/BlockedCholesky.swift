import Dispatch

/// Lower Cholesky factorization G = M·Mᵀ in single precision, in place, blocked so that almost all
/// of its n³/6 multiply-adds are `Tile4x16` products on both cores (right-looking: factor a
/// diagonal block of `blockSize`, solve the panel below it, subtract the panel's outer product
/// from the trailing matrix). The factor's strict lower part overwrites the strict lower part of
/// a row-major n × n buffer (the upper part is never touched), its diagonal a separate vector.
/// Single precision as the GPTQ reference implementation factors; the damping keeps G well
/// conditioned (`ErrorFeedback`).
enum BlockedCholesky {
    static let blockSize = 128

    /// - Parameters:
    ///   - m: row-major n × n; on entry its strict lower part is G's, on exit M's.
    ///   - diagonal: G's diagonal on entry, M's on exit.
    /// - Returns: false when G is not positive definite (the buffers then hold partial results).
    static func factor(_ m: UnsafeMutablePointer<Float>, diagonal d: UnsafeMutablePointer<Float>, n: Int, threads: Int) -> Bool {
        let nb = blockSize, threads = max(1, threads)
        let panel = UnsafeMutablePointer<Float>.allocate(capacity: nb * (n + 16))
        defer { panel.deallocate() }
        let shared = Shared(m: m, d: d, panel: panel)
        for k0 in stride(from: 0, to: n, by: nb) {
            let k1 = min(k0 + nb, n), kb = k1 - k0
            // The diagonal block, row by row (left-looking within the block).
            for i in k0..<k1 {
                for j in k0..<i {
                    m[i * n + j] = (m[i * n + j] - dotProduct(m + i * n + k0, m + j * n + k0, j - k0)) / d[j]
                }
                let t = d[i] - dotProduct(m + i * n + k0, m + i * n + k0, i - k0)
                guard t > 0, t.isFinite else { return false }
                d[i] = t.squareRoot()
            }
            guard k1 < n else { break }
            let rest = n - k1, width = (rest + 15) / 16 * 16
            // The panel below it (rows are independent), then its transpose for the products.
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                for i in stride(from: k1 + part, to: n, by: threads) { shared.solveRow(i, k0: k0, k1: k1, n: n) }
            }
            for k in 0..<kb {
                let row = panel + k * width
                for j in 0..<rest { row[j] = m[(k1 + j) * n + k0 + k] }
                for j in rest..<width { row[j] = 0 }
            }
            // Trailing update of the lower triangle; row tiles near the bottom are the longest,
            // so threads take them in turn.
            let tiles = (rest + 3) / 4
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                for t in stride(from: part, to: tiles, by: threads) {
                    shared.update(rowTile: k1 + 4 * t, k0: k0, k1: k1, n: n, width: width)
                }
            }
        }
        return true
    }

    private struct Shared: @unchecked Sendable {
        let m: UnsafeMutablePointer<Float>
        let d: UnsafeMutablePointer<Float>
        let panel: UnsafeMutablePointer<Float>

        func solveRow(_ i: Int, k0: Int, k1: Int, n: Int) {
            let row = m + i * n
            for j in k0..<k1 {
                row[j] = (row[j] - dotProduct(row + k0, m + j * n + k0, j - k0)) / d[j]
            }
        }

        /// Rows i0 ..< i0 + 4 of the trailing matrix, columns k1 ... i: minus the panel's products.
        func update(rowTile i0: Int, k0: Int, k1: Int, n: Int, width: Int) {
            let kb = k1 - k0
            // Rows past the end read the last row; their results are dropped.
            let last = n - 1
            let a = UnsafeMutablePointer<Float>.allocate(capacity: 4 * kb)
            defer { a.deallocate() }
            for r in 0..<4 { (a + r * kb).update(from: m + min(i0 + r, last) * n + k0, count: kb) }
            let top = min(i0 + 3, last)
            for j0 in stride(from: k1, through: top, by: 16) {
                let tile = Tile4x16(a, kb, panel + (j0 - k1), width, depth: kb)
                if j0 + 15 < i0 {
                    for r in 0..<4 where i0 + r <= last { tile.add(row: r, to: m + (i0 + r) * n + j0, negated: true) }
                } else {
                    for r in 0..<4 where i0 + r <= last {
                        let i = i0 + r
                        for c in 0..<16 where j0 + c <= i {
                            if j0 + c == i { d[i] -= tile[r, c] } else { m[i * n + j0 + c] -= tile[r, c] }
                        }
                    }
                }
            }
        }
    }
}
