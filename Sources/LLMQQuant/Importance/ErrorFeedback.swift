import Dispatch
import Foundation
import LLMQBlocks
import LLMQCore

/// Rounding with error feedback (GPTQ; Frantar et al., 2022) for every `ColumnwiseRoundable` type:
/// a row is quantized one column at a time, and each column's rounding error is pushed onto the
/// columns not yet quantized in proportion to how the calibration inputs correlate them, so that
/// the product W·x — not each weight — stays as close to the original as the grid allows. Each
/// block's parameters are chosen by its type's rounder when the row reaches the block, from the
/// block's current values weighted by diag H (the importance matrix); the layout and the bytes'
/// meaning are the codec's own.
///
/// With H the inputs' second moments, GPTQ's update is usually written with U, H⁻¹ = UᵀU: column
/// i's error e_i = (v_i − q_i)/U_ii is subtracted as e_i·U_ij from every later column j. Written
/// with A = U⁻¹ (upper triangular, H = A·Aᵀ) it needs no inverse: the value column j is rounded
/// from is v_j = w_j + Σ_{k<j} d_k·A_kj / A_jj, with d_k = w_k − q_k the finished columns' errors
/// against the original weights. A is a Cholesky factor (of H with rows and columns reversed),
/// n³/6 multiply-adds, the inverse's n³/6 saved.
///
/// The sums run lazily (the paper's "lazy batch" updates): columns go in spans of 128 (or a
/// block when blocks are wider); within a span each column updates the span's later columns at
/// once, and the contributions of all earlier spans arrive as one matrix product per span
/// (`Tile4x16`) over the rows of a chunk, which reads each stored coefficient once per chunk
/// instead of once per row.
public final class ErrorFeedback: @unchecked Sendable {
    public let width: Int
    /// diag H: the scale search's column weights.
    let columnWeights: [Float]
    /// λ added to H's diagonal, as a fraction of its mean (GPTQ's "percdamp").
    public let damping: Double
    /// Columns per panel; spans are whole panels.
    static let panelColumns = 128
    /// Panel c holds Â[k, j] = A_kj / A_jj for columns j of its 128 and every row k before them
    /// (zero for k ≥ j), rows of `paddedWidth(c)`: the lazy updates read them row by row.
    private let panels: UnsafeMutablePointer<Float>
    private let panelOffsets: [Int]
    /// Memory the factor holds.
    public let byteCount: Int

    /// Factors `covariance` (mean x·xᵀ), adding `damping`·mean(diag H) to the diagonal — ten times
    /// more, up to three times, if H is still not positive definite. The factorization borrows
    /// the strict lower half of the covariance's storage, which `add` never uses.
    public init(_ covariance: InputCovariance, damping requested: Double = 0.01, threads: Int = 1) throws {
        let n = covariance.width
        let scale = covariance.count > 0 ? 1 / Double(covariance.count) : 0
        var diagonal = [Double](repeating: 0, count: n)
        covariance.withSums { s in for i in 0..<n { diagonal[i] = Double(s[i * n + i]) * scale } }
        let meanDiagonal = diagonal.reduce(0, +) / Double(max(n, 1))
        guard meanDiagonal > 0, meanDiagonal.isFinite else {
            throw LLMQError(.invalid, "the calibration inputs of a \(n)-wide matrix are all zero or not finite")
        }
        columnWeights = diagonal.map(Float.init)
        // A column no input ever used: its weights cannot matter, but H must stay invertible.
        for i in 0..<n where diagonal[i] == 0 { diagonal[i] = meanDiagonal }
        var lambda = requested * meanDiagonal
        let d = UnsafeMutablePointer<Float>.allocate(capacity: max(n, 1))
        defer { d.deallocate() }
        var factored = false
        for _ in 0..<4 {
            factored = covariance.withSums { s in
                // G = JHJ (J reverses the order) in the strict lower half: G[i, j] = H[n−1−i, n−1−j].
                for i in 0..<n {
                    let source = s + (n - 1 - i) * n + (n - 1)
                    for j in 0..<i { s[i * n + j] = Float(Double(source[-j]) * scale) }
                    d[i] = Float(diagonal[n - 1 - i] + lambda)
                }
                return BlockedCholesky.factor(s, diagonal: d, n: n, threads: threads)
            }
            if factored { break }
            lambda *= 10
        }
        guard factored else {
            throw LLMQError(.invalid, "the calibration inputs' second-moment matrix (\(n) wide) is not positive definite even damped")
        }
        width = n
        damping = lambda / meanDiagonal
        // JHJ = MMᵀ, so H = AAᵀ with A = JMJ upper triangular: A[k, j] = M[n−1−k, n−1−j].
        var offsets: [Int] = [], total = 0
        for b0 in stride(from: 0, to: n, by: Self.panelColumns) {
            offsets.append(total)
            total += min(b0 + Self.panelColumns, n) * Self.paddedWidth(n - b0)
        }
        panelOffsets = offsets
        let starts = offsets
        panels = .allocate(capacity: max(total, 1))
        byteCount = 4 * (total + n)
        let target = UncheckedPointer(panels)
        covariance.withSums { s in
            let source = UncheckedPointer(s), inverse = (0..<n).map { 1 / d[n - 1 - $0] }
            DispatchQueue.concurrentPerform(iterations: starts.count) { c in
                let b0 = c * Self.panelColumns, b1 = min(b0 + Self.panelColumns, n), p = Self.paddedWidth(n - b0)
                let panel = target.pointer + starts[c]
                for k in 0..<b1 {
                    let row = panel + k * p, m = source.pointer + (n - 1 - k) * n + (n - 1)
                    for j in 0..<p {
                        let column = b0 + j
                        row[j] = column < b1 && k < column ? m[-column] * inverse[column] : 0
                    }
                }
            }
        }
    }

    deinit { panels.deallocate() }

    /// A panel's row length: its columns (128, fewer in the last) padded to the kernel's 16.
    private static func paddedWidth(_ remaining: Int) -> Int { (min(remaining, panelColumns) + 15) / 16 * 16 }

    /// Quantizes `rows` rows of `width` values at `values` as `type` blocks of `blockSize`,
    /// writing whole rows to `output`. Each row's bytes depend only on that row.
    func quantize(_ values: UnsafePointer<Float>, rows: Int, type: any ColumnwiseRoundable.Type, blockSize g: Int,
                  into output: UnsafeMutableRawPointer) {
        round(values, rows: rows, type, g, output)
    }

    private func round<T: ColumnwiseRoundable>(_ w: UnsafePointer<Float>, rows: Int, _ type: T.Type, _ g: Int,
                                               _ output: UnsafeMutableRawPointer) {
        let n = width, b = Self.panelColumns
        let blockBytes = type.blockBytes(groupSize: g), rowBytes = n / g * blockBytes
        // A span is whole panels and whole blocks.
        let span = b % g == 0 ? b : (g % b == 0 ? g : b * g)
        let padded = (rows + 3) / 4 * 4
        // d: every row's errors so far (rows padded to the kernel's 4 with zeros); v: the span's
        // current values, panel after panel, each at its padded width.
        let d = UnsafeMutablePointer<Float>.allocate(capacity: padded * n)
        let vWidth = span + 16 * (span / b)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: padded * vWidth)
        defer { d.deallocate(); v.deallocate() }
        d.initialize(repeating: 0, count: padded * n)
        var rounder = type.rounder(groupSize: g)
        let kDepth = 256
        columnWeights.withUnsafeBufferPointer { wb in
            let weights = wb.baseAddress!
            for s0 in stride(from: 0, to: n, by: span) {
                let s1 = min(s0 + span, n), first = s0 / b, last = (s1 - 1) / b
                v.initialize(repeating: 0, count: padded * vWidth)
                // Where panel c's columns start in a row of v.
                var columnOffset = [Int](), o = 0
                for c in first...last {
                    columnOffset.append(o)
                    o += Self.paddedWidth(n - c * b)
                }
                // Every earlier span's errors at once: v += d[:, ..< s0] · Â[..< s0, span].
                for c in first...last where s0 > 0 {
                    let p = Self.paddedWidth(n - c * b), panel = panels + panelOffsets[c]
                    for k0 in stride(from: 0, to: s0, by: kDepth) {
                        let depth = min(kDepth, s0 - k0)
                        for j0 in stride(from: 0, to: p, by: 16) {
                            for r0 in stride(from: 0, to: padded, by: 4) {
                                let tile = Tile4x16(d + r0 * n + k0, n, panel + k0 * p + j0, p, depth: depth)
                                for r in 0..<4 { tile.add(row: r, to: v + (r0 + r) * vWidth + columnOffset[c - first] + j0) }
                            }
                        }
                    }
                }
                // Panels are full (unpadded) except the matrix's last, so the span's columns are
                // contiguous in v from its start.
                for r in 0..<rows {
                    let vr = v + r * vWidth, wr = w + r * n + s0, dr = d + r * n
                    for j in 0..<(s1 - s0) { vr[j] += wr[j] }
                    for g0 in stride(from: 0, to: s1 - s0, by: g) {
                        rounder.begin(vr + g0, importance: weights + s0 + g0)
                        for i in g0..<g0 + g {
                            let e = wr[i] - rounder.round(vr + g0, at: i - g0)
                            dr[s0 + i] = e
                            let k = s0 + i
                            guard e != 0, k + 1 < s1 else { continue }
                            // Within the span: the later columns of this panel and the next ones.
                            for c in (k + 1) / b...last {
                                let p = Self.paddedWidth(n - c * b), row = panels + panelOffsets[c] + k * p
                                let from = max(k + 1, c * b), to = min((c + 1) * b, s1)
                                let target = vr + (from - s0)
                                let coefficients = row + (from - c * b)
                                for j in 0..<(to - from) { target[j] = target[j].addingProduct(e, coefficients[j]) }
                            }
                        }
                        rounder.store(into: output + r * rowBytes + (s0 + g0) / g * blockBytes)
                    }
                }
            }
        }
    }
}

/// Where the quantizer gets each matrix's error feedback: looked up when the tensor is written,
/// in the writer's order, so a source may compute it then (GPTQ's layer-by-layer walk).
public protocol ErrorFeedbackSource: Sendable {
    /// The feedback for `tensor`, or nil to round it without.
    func feedback(for tensor: String) throws -> ErrorFeedback?
}

extension Dictionary: ErrorFeedbackSource where Key == String, Value == ErrorFeedback {
    public func feedback(for tensor: String) throws -> ErrorFeedback? { self[tensor] }
}

private struct UncheckedPointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}
