import Foundation
import LLMQBlocks
import LLMQCore

/// Rounding with error feedback (GPTQ; Frantar et al., 2022) for every `ColumnwiseRoundable` type:
/// a row is quantized one column at a time, and each column's rounding error is pushed onto the
/// columns not yet quantized in proportion to how the calibration inputs correlate them, so that
/// the product W·x — not each weight — stays as close to the original as the grid allows. With H
/// the inputs' second moments and H⁻¹ = UᵀU (U upper triangular), column i's error
/// e = (w_i − ŵ_i)/U_ii is subtracted as e·U[i, j] from every later column j. Each block's
/// parameters are chosen by its type's rounder when the row reaches the block, from the block's
/// current values weighted by diag H (the importance matrix); the layout and the bytes' meaning
/// are the codec's own.
///
/// Cost: one Cholesky factorization and one triangular inverse per distinct input (n³/3 each; q,
/// k, v share one, as do gate and up), then n²/2 multiply-adds per row.
public final class ErrorFeedback: @unchecked Sendable {
    public let width: Int
    /// U, row-major, upper triangular: H⁻¹ = UᵀU.
    private let factor: [Float]
    /// diag H: the scale search's column weights.
    let columnWeights: [Float]
    /// λ added to H's diagonal, as a fraction of its mean (GPTQ's "percdamp").
    public let damping: Double

    /// Factors `covariance` (mean x·xᵀ), adding `damping`·mean(diag H) to the diagonal — ten times
    /// more, up to three times, if H is still not positive definite.
    public init(_ covariance: InputCovariance, damping requested: Double = 0.01) throws {
        let n = covariance.width
        var h = covariance.symmetric()
        var meanDiagonal = 0.0
        for i in 0..<n { meanDiagonal += h[i * n + i] }
        meanDiagonal /= Double(max(n, 1))
        guard meanDiagonal > 0, meanDiagonal.isFinite else {
            throw LLMQError(.invalid, "the calibration inputs of a \(n)-wide matrix are all zero or not finite")
        }
        columnWeights = (0..<n).map { Float(h[$0 * n + $0]) }
        // A column no input ever used: its weights cannot matter, but H must stay invertible.
        for i in 0..<n where h[i * n + i] == 0 { h[i * n + i] = meanDiagonal }
        var lambda = requested * meanDiagonal, factored: [Double]?
        for _ in 0..<4 {
            var damped = h
            for i in 0..<n { damped[i * n + i] += lambda }
            factored = Self.inverseFactor(damped, n)
            if factored != nil { break }
            lambda *= 10
        }
        guard let u = factored else {
            throw LLMQError(.invalid, "the calibration inputs' second-moment matrix (\(n) wide) is not positive definite even damped")
        }
        width = n
        damping = lambda / meanDiagonal
        factor = u.map(Float.init)
    }

    /// U with H⁻¹ = UᵀU. With J the reversal permutation and JHJ = MMᵀ (lower Cholesky), A = JMJ is
    /// upper triangular with H = AAᵀ, so H⁻¹ = A⁻ᵀA⁻¹ and U = A⁻¹ = J·M⁻¹·J. Nil when H is not
    /// positive definite.
    static func inverseFactor(_ h: [Double], _ n: Int) -> [Double]? {
        var m = [Double](repeating: 0, count: n * n)
        let ok = m.withUnsafeMutableBufferPointer { mb -> Bool in
            let m = mb.baseAddress!
            for i in 0..<n {
                for j in 0...i {
                    let s = h[(n - 1 - i) * n + (n - 1 - j)] - dot(m + i * n, m + j * n, j)
                    if i == j {
                        guard s > 0, s.isFinite else { return false }
                        m[i * n + i] = s.squareRoot()
                    } else {
                        m[i * n + j] = s / m[j * n + j]
                    }
                }
            }
            return true
        }
        guard ok else { return nil }
        // M⁻¹ row by row: M[i,i]·X[i,:] = e_i − Σ_{k<i} M[i,k]·X[k,:] (row k of X ends at column k).
        var x = [Double](repeating: 0, count: n * n)
        x.withUnsafeMutableBufferPointer { xb in
            let x = xb.baseAddress!
            for i in 0..<n {
                let row = x + i * n
                row[i] = 1
                for k in 0..<i {
                    let c = m[i * n + k]
                    if c == 0 { continue }
                    let other = x + k * n
                    for col in 0...k { row[col] -= c * other[col] }
                }
                let inverse = 1 / m[i * n + i]
                for col in 0...i { row[col] *= inverse }
            }
        }
        var u = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n { u[i * n + j] = x[(n - 1 - i) * n + (n - 1 - j)] }
        }
        return u
    }

    @inline(__always)
    private static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ count: Int) -> Double {
        var s0 = SIMD4<Double>(), s1 = SIMD4<Double>()
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var k = 0
        while k + 8 <= count {
            s0 = s0.addingProduct(ra.loadUnaligned(fromByteOffset: 8 * k, as: SIMD4<Double>.self),
                                  rb.loadUnaligned(fromByteOffset: 8 * k, as: SIMD4<Double>.self))
            s1 = s1.addingProduct(ra.loadUnaligned(fromByteOffset: 8 * (k + 4), as: SIMD4<Double>.self),
                                  rb.loadUnaligned(fromByteOffset: 8 * (k + 4), as: SIMD4<Double>.self))
            k += 8
        }
        var s = (s0 + s1).sum()
        while k < count {
            s += a[k] * b[k]
            k += 1
        }
        return s
    }

    /// Quantizes `rows` rows of `width` values at `values` (overwritten: they carry the errors
    /// pushed forward) as `type` blocks of `blockSize`, writing whole rows to `output`. Rows go
    /// four at a time so that each row of U is read once for four.
    func quantize(_ values: UnsafeMutablePointer<Float>, rows: Int, type: any ColumnwiseRoundable.Type, blockSize g: Int,
                  into output: UnsafeMutableRawPointer) {
        round(values, rows: rows, type, g, output)
    }

    private func round<T: ColumnwiseRoundable>(_ values: UnsafeMutablePointer<Float>, rows: Int, _ type: T.Type, _ g: Int,
                                               _ output: UnsafeMutableRawPointer) {
        let n = width
        let blockBytes = type.blockBytes(groupSize: g), rowBytes = n / g * blockBytes
        let spare = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { spare.deallocate() }
        var rounders = (0..<4).map { _ in type.rounder(groupSize: g) }
        factor.withUnsafeBufferPointer { ub in
            columnWeights.withUnsafeBufferPointer { wb in
                let u = ub.baseAddress!, weights = wb.baseAddress!
                for r0 in stride(from: 0, to: rows, by: 4) {
                    let count = min(4, rows - r0)
                    // Missing rows of the last group of four compute on a scratch row, unwritten.
                    spare.initialize(repeating: 0, count: n)
                    let w = (0..<4).map { $0 < count ? values + (r0 + $0) * n : spare }
                    for b in stride(from: 0, to: n, by: g) {
                        for r in 0..<4 { rounders[r].begin(w[r] + b, importance: weights + b) }
                        for i in b..<b + g {
                            let ui = u + i * n
                            var e = SIMD4<Float>()
                            for r in 0..<4 { e[r] = (w[r][i] - rounders[r].round(w[r] + b, at: i - b)) / ui[i] }
                            let w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3]
                            for j in (i + 1)..<max(i + 1, n) {
                                let c = ui[j]
                                w0[j] -= e[0] * c
                                w1[j] -= e[1] * c
                                w2[j] -= e[2] * c
                                w3[j] -= e[3] * c
                            }
                        }
                        for r in 0..<count { rounders[r].store(into: output + (r0 + r) * rowBytes + b / g * blockBytes) }
                    }
                }
            }
        }
    }
}
