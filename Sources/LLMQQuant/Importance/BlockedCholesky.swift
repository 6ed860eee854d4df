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
            // Trailing update of the lower triangle, 64 rows at a time (their panel rows stay in
            // cache while the transposed panel streams past once); groups near the bottom are the
            // longest, so threads take them in turn.
            let groups = (rest + 63) / 64
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                for group in stride(from: part, to: groups, by: threads) {
                    shared.update(rows: k1 + 64 * group, k0: k0, k1: k1, n: n, width: width)
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

        /// Rows i0 ..< i0 + 64 of the trailing matrix, columns k1 ... i: minus the panel's products.
        func update(rows i0: Int, k0: Int, k1: Int, n: Int, width: Int) {
            let kb = k1 - k0, last = n - 1, count = min(64, n - i0), tiles = (count + 3) / 4
            // Rows past the end read the last row; their results are dropped.
            let a = UnsafeMutablePointer<Float>.allocate(capacity: 4 * tiles * kb)
            defer { a.deallocate() }
            for r in 0..<4 * tiles { (a + r * kb).update(from: m + min(i0 + r, last) * n + k0, count: kb) }
            for j0 in stride(from: k1, through: i0 + count - 1, by: 16) {
                let b = panel + (j0 - k1)
                for t in 0..<tiles where j0 <= min(i0 + 4 * t + 3, last) {
                    let top = i0 + 4 * t
                    let tile = Tile4x16(a + 4 * t * kb, kb, b, width, depth: kb)
                    if j0 + 15 < top {
                        for r in 0..<4 where top + r <= last { tile.add(row: r, to: m + (top + r) * n + j0, negated: true) }
                    } else {
                        for r in 0..<4 where top + r <= last {
                            let i = top + r
                            for c in 0..<16 where j0 + c <= i {
                                if j0 + c == i { d[i] -= tile[r, c] } else { m[i * n + j0 + c] -= tile[r, c] }
                            }
                        }
                    }
                }
            }
        }
    }
}
