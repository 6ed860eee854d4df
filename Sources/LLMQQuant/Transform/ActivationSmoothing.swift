import Foundation
import LLMQCore

/// Activation smoothing (SmoothQuant, Xiao et al. 2023) as a rewrite of the weights that leaves
/// the fp32 model's function unchanged: for a group of matrices sharing one input x, column j of
/// every matrix is multiplied by sⱼ and whatever produces xⱼ is divided by sⱼ — an RMSNorm weight
/// (attention and FFN inputs), a row of `ffn_up` (SwiGLU is linear in it: the FFN's hidden
/// input), a row of `attn_v` (attention mixes positions, not dimensions: `attn_output`'s input).
/// The result is still a plain Llama model; llama.cpp runs it unchanged.
///
/// Why: llama.cpp rounds every integer product's input to 8 bits per 32 values (per 256 for
/// K-quants), so a few channels with large activations coarsen the rounding of their whole
/// block. On de-gridded SmolLM2 that rounding alone is 0.0035 of the 0.0055 mean KLD of
/// llama.cpp's own Q8_0 file (docs/verification.md). sⱼ = aⱼ^α / wⱼ^(1−α), with aⱼ the channel's
/// RMS activation (the importance matrix) and wⱼ the largest |weight| in column j of the group,
/// moves part of each channel's range from the activations into the weights.
///
/// The norms at the residual stream's end and the embedding are untouched (with tied
/// embeddings the classifier is the embedding), and so is RoPE: no Q/K row changes.
public struct ActivationSmoothing: Sendable {
    /// The GGUF key a smoothed output records its strength under.
    public static let ggufKey = "llmq.smoothing.alpha"
    /// How much of each channel's range moves into the weights: 0 none (sⱼ from weights only),
    /// 1 all of it.
    public let alpha: Double
    /// Per tensor, a factor for each column (for a 1-D norm weight: each element).
    public let columnFactors: [String: [Float]]
    /// Per tensor, a factor for each row.
    public let rowFactors: [String: [Float]]

    /// Chooses the factors from `importance` (mean squared inputs, collected on the unsmoothed
    /// model) and the weights' column maxima. A group whose input the importance matrix did not
    /// observe is left as it is.
    public init(model: Model, importance: ImportanceMatrix, alpha: Double) throws {
        guard (0...1).contains(alpha) else { throw LLMQError(.usage, "the smoothing strength must lie in 0…1 (got \(alpha))") }
        self.alpha = alpha
        let c = model.config
        var columns: [String: [Float]] = [:], rows: [String: [Float]] = [:]
        func name(_ l: Int, _ t: CanonicalName.LayerTensor) -> String { CanonicalName.layer(l, t) }
        for l in 0..<c.layerCount {
            // The attention and FFN inputs: the RMSNorm weight gives way to the matrices' columns.
            for (norm, readers) in [(CanonicalName.LayerTensor.attnNorm, [CanonicalName.LayerTensor.attnQ, .attnK, .attnV]),
                                    (.ffnNorm, [.ffnGate, .ffnUp])] {
                let matrices = try readers.map { try model.tensor(name(l, $0)) }
                guard let rms = try Self.inputRMS(importance, matrices[0]) else { continue }
                let s = Self.factors(rms, try Self.columnMaxima(model, matrices), alpha)
                for m in matrices { columns[m.name] = s }
                columns[name(l, norm)] = s.map { 1 / $0 }
            }
            // The FFN's hidden input: up's rows give way to down's columns.
            let down = try model.tensor(name(l, .ffnDown))
            if let rms = try Self.inputRMS(importance, down) {
                let s = Self.factors(rms, try Self.columnMaxima(model, [down]), alpha)
                columns[down.name] = s
                rows[name(l, .ffnUp)] = s.map { 1 / $0 }
            }
            // The output projection's input, head by head: every query head of a KV group reads
            // the same value rows, so the group's heads share one factor per dimension.
            let output = try model.tensor(name(l, .attnOutput))
            if let rms = try Self.inputRMS(importance, output) {
                let maxima = try Self.columnMaxima(model, [output])
                let d = c.headDim, perGroup = c.headCount / c.kvHeadCount
                var valueRows = [Float](repeating: 1, count: c.kvDim), outputColumns = [Float](repeating: 1, count: output.cols)
                for g in 0..<c.kvHeadCount {
                    let heads = (g * perGroup)..<((g + 1) * perGroup)
                    let a = (0..<d).map { j in (heads.reduce(0) { $0 + rms[$1 * d + j] * rms[$1 * d + j] } / Float(perGroup)).squareRoot() }
                    let w = (0..<d).map { j in heads.map { maxima[$0 * d + j] }.max()! }
                    let s = Self.factors(a, w, alpha)
                    for j in 0..<d { valueRows[g * d + j] = 1 / s[j] }
                    for h in heads { for j in 0..<d { outputColumns[h * d + j] = s[j] } }
                }
                columns[output.name] = outputColumns
                rows[name(l, .attnV)] = valueRows
            }
        }
        columnFactors = columns
        rowFactors = rows
    }

    /// A lazy view of `model` with the factors applied: each rewritten tensor is expanded to fp32
    /// when read (and its source released), the others pass through untouched.
    public func view(of model: Model) throws -> Model {
        let tensors = model.tensors.map { t -> Tensor in
            let columns = columnFactors[t.name], rows = rowFactors[t.name]
            guard columns != nil || rows != nil else { return t }
            let width = t.cols
            return Dequantize.expanded(t, of: model, encoding: "smoothed from \(t.dtype)") { v in
                for r in 0..<t.rows {
                    let rowFactor = rows?[r] ?? 1
                    for j in 0..<width { v[r * width + j] *= rowFactor * (columns?[j] ?? 1) }
                }
            }
        }
        return try Model(format: model.format, files: model.files, config: model.config, tensors: tensors,
                         tokenizer: model.tokenizer, metadata: model.metadata)
    }

    /// The importance matrix the smoothed model would give: a matrix whose columns grew by sⱼ
    /// sees inputs shrunk by sⱼ. Sensitivities are kept (they are per matrix and move little).
    public func apply(to importance: ImportanceMatrix) -> ImportanceMatrix {
        var result = importance
        for (name, entry) in importance.entries {
            guard let s = columnFactors[name], s.count == entry.sumSquares.count else { continue }
            result.entries[name]?.sumSquares = zip(entry.sumSquares, s).map { $0 / ($1 * $1) }
        }
        return result
    }

    /// sⱼ = aⱼ^α / wⱼ^(1−α), scaled to a geometric mean of 1 so magnitudes stay where they were.
    /// Channels that never fire (or columns of zeros) are floored at a millionth of the largest,
    /// which bounds every factor.
    static func factors(_ a: [Float], _ w: [Float], _ alpha: Double) -> [Float] {
        let aFloor = Double(a.max() ?? 0) * 1e-6, wFloor = Double(w.max() ?? 0) * 1e-6
        let logs = zip(a, w).map { a, w in
            alpha * log(max(Double(a), aFloor, .leastNormalMagnitude)) - (1 - alpha) * log(max(Double(w), wFloor, .leastNormalMagnitude))
        }
        let mean = logs.reduce(0, +) / Double(max(logs.count, 1))
        return logs.map { Float(exp($0 - mean)) }
    }

    /// RMS of each input channel of `matrix`, or nil when the importance matrix did not observe it.
    static func inputRMS(_ importance: ImportanceMatrix, _ matrix: Tensor) throws -> [Float]? {
        try importance.columnWeights(for: matrix)?.map { $0.squareRoot() }
    }

    /// The largest |weight| of each column over all `matrices` (which share their width).
    static func columnMaxima(_ model: Model, _ matrices: [Tensor]) throws -> [Float] {
        var maxima = [Float](repeating: 0, count: matrices[0].cols)
        for m in matrices {
            guard m.cols == maxima.count else {
                throw LLMQError(.invalid, "is \(m.cols) wide where the matrices sharing its input are \(maxima.count)", file: model.path, tensor: m.name)
            }
            let width = maxima.count
            try Dequantize.chunks(model, m) { _, values in
                maxima.withUnsafeMutableBufferPointer { mx in
                    for start in stride(from: 0, to: values.count, by: width) {
                        for j in 0..<width { mx[j] = max(mx[j], abs(values[start + j])) }
                    }
                }
            }
            model.release(m)
        }
        return maxima
    }
}
