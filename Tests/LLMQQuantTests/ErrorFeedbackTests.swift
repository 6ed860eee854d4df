import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

/// Error-feedback rounding (GPTQ) through the quantized view, on stories260K's matrices with
/// synthetic inputs whose correlation is known.
@Suite("Error feedback (GPTQ)")
struct ErrorFeedbackTests {
    /// `count` input vectors of `width`: independent Gaussians mixed by a random matrix (so the
    /// columns correlate strongly), with a few loud channels.
    static func correlatedInputs(width: Int, count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        func gauss() -> Float { (-2 * log(max(rng.uniform(), 1e-7))).squareRoot() * cos(2 * .pi * rng.uniform()) }
        let mix = (0..<width * width).map { _ in gauss() / Float(width).squareRoot() }
        var x = [Float](repeating: 0, count: count * width)
        for t in 0..<count {
            let z = (0..<width).map { i in gauss() * (i % 9 == 0 ? 4 : 1) }
            for i in 0..<width {
                var s: Float = 0
                for k in 0..<width { s += mix[i * width + k] * z[k] }
                x[t * width + i] = s + 0.5 * z[i]
            }
        }
        return x
    }

    /// Σ over rows of (w − ŵ)·H·(w − ŵ)ᵀ: the mean squared error of the matrix's outputs on the inputs.
    static func outputError(_ w: [Float], _ restored: [Float], rows: Int, _ h: [Double]) -> Double {
        let n = w.count / rows
        var total = 0.0
        for r in 0..<rows {
            let d = (0..<n).map { Double(w[r * n + $0] - restored[r * n + $0]) }
            for i in 0..<n {
                var s = 0.0
                for j in 0..<n { s += h[i * n + j] * d[j] }
                total += d[i] * s
            }
        }
        return total
    }

    static func quantize(_ source: Model, _ type: String, importance: ImportanceMatrix?, feedback: [String: ErrorFeedback],
                         name: String) throws -> [Float] {
        let recipe = try QuantizationRecipe(type: type, rules: [], scaleSearch: true)
        let view = try Quantizer.view(of: source, plan: recipe.plan(for: source), importance: importance, feedback: feedback)
        return try Dequantize.tensor(view, view.tensor(name))
    }

    @Test("the tiled Σx·xᵀ equals the plain sum")
    func covariance() {
        let width = 37, count = 29
        let x = Self.correlatedInputs(width: width, count: count, seed: 5)
        let covariance = InputCovariance(width: width)
        x.withUnsafeBufferPointer { covariance.add($0.baseAddress!, rows: 20) }
        x.withUnsafeBufferPointer { covariance.add($0.baseAddress! + 20 * width, rows: count - 20, threads: 1) }
        let h = covariance.symmetric()
        #expect(covariance.count == count)
        for i in 0..<width {
            for j in 0..<width {
                var s = 0.0
                for t in 0..<count { s += Double(x[t * width + i]) * Double(x[t * width + j]) }
                s /= Double(count)
                #expect(abs(h[i * width + j] - s) <= 1e-5 * max(1, abs(s)), "H[\(i), \(j)]")
            }
        }
    }

    /// A model of one matrix `name`, rows of 256 of stories260K's values (the K-quants need whole
    /// super-blocks; stories260K's own rows are 64 or 172 wide).
    static func wideModel(_ name: String, rows: Int) throws -> Model {
        let source = try Llama2CReader.read(path: Fixtures.stories260K)
        let bytes = try TestData.stories260KRows().prefix(rows * 256).withUnsafeBytes { Array($0) }
        let tensor = Tensor(name: name, shape: [rows, 256], dtype: .f32, offset: 0, storedByteCount: 0, encoding: "test") { _ in bytes }
        return try Model(format: FileFormat(name: "test"), files: source.files, config: source.config, tensors: [tensor])
    }

    /// The output errors of `name` as `type`, searched with diag H and with feedback, on correlated inputs.
    static func outputErrors(_ source: Model, _ name: String, _ type: String) throws -> (searched: Double, fed: Double) {
        let tensor = try source.tensor(name)
        let x = Self.correlatedInputs(width: tensor.cols, count: 512, seed: 9)
        let covariance = InputCovariance(width: tensor.cols)
        x.withUnsafeBufferPointer { covariance.add($0.baseAddress!, rows: 512) }
        let h = covariance.symmetric()
        let diagonal = (0..<tensor.cols).map { Float(h[$0 * tensor.cols + $0]) }
        let importance = ImportanceMatrix(entries: [name: .init(sumSquares: diagonal, count: 1)], datasets: [], chunkCount: 1, chunkSize: 512)
        let w = try Dequantize.tensor(source, tensor)
        let searched = try Self.quantize(source, type, importance: importance, feedback: [:], name: name)
        let fed = try Self.quantize(source, type, importance: importance, feedback: [name: ErrorFeedback(covariance)], name: name)
        // It trades plain squared error for output error: the weights themselves move further.
        let plain = { (y: [Float]) in zip(w, y).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } }
        #expect(plain(fed) > plain(searched), "\(type)")
        return (Self.outputError(w, searched, rows: tensor.rows, h), Self.outputError(w, fed, rows: tensor.rows, h))
    }

    @Test("correlated inputs: error feedback lowers the output error of every symmetric type well below the weighted search",
          arguments: ["q4_0", "q5_0", "q8_0"])
    func lowersOutputError(type: String) throws {
        let (before, after) = try Self.outputErrors(try Llama2CReader.read(path: Fixtures.stories260K), "blk.2.attn_q.weight", type)
        #expect(after < 0.8 * before, "\(type): \(after) vs \(before)")
    }

    @Test("correlated inputs: error feedback lowers the output error of the sub-block types well below the weighted search",
          arguments: ["q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs", "q4_1", "q5_1"])
    func subBlockTypes(type: String) throws {
        let name = "blk.0.attn_q.weight"
        let (before, after) = try Self.outputErrors(try Self.wideModel(name, rows: 64), name, type)
        print("\(type): output error \(after) with feedback, \(before) searched (\(String(format: "%.0f", 100 * after / before))%)")
        #expect(after < 0.8 * before, "\(type): \(after) vs \(before)")
    }

    @Test("uncorrelated inputs: no error to feed forward, so the bytes are the weighted search's")
    func diagonalIsTheSearch() throws {
        let source = try Llama2CReader.read(path: Fixtures.stories260K)
        let name = "blk.0.ffn_gate.weight"
        let tensor = try source.tensor(name)
        // One loud channel per input vector: H is diagonal.
        var x = [Float](repeating: 0, count: tensor.cols * tensor.cols)
        for i in 0..<tensor.cols { x[i * tensor.cols + i] = 1 + Float(i % 7) }
        let covariance = InputCovariance(width: tensor.cols)
        x.withUnsafeBufferPointer { covariance.add($0.baseAddress!, rows: tensor.cols) }
        let h = covariance.symmetric()
        let diagonal = (0..<tensor.cols).map { Float(h[$0 * tensor.cols + $0]) }
        let importance = ImportanceMatrix(entries: [name: .init(sumSquares: diagonal, count: 1)], datasets: [], chunkCount: 1, chunkSize: 1)
        for type in ["q4_0", "q5_0", "q8_0"] {
            let searched = try Self.quantize(source, type, importance: importance, feedback: [:], name: name)
            let fed = try Self.quantize(source, type, importance: importance, feedback: [name: ErrorFeedback(covariance)], name: name)
            #expect(fed == searched, "\(type)")
        }
    }

    @Test("uncorrelated inputs: the sub-block types' re-fitted scales never raise the weighted error above the search's")
    func diagonalSubBlocks() throws {
        let name = "blk.0.ffn_gate.weight"
        let source = try Self.wideModel(name, rows: 32)
        var x = [Float](repeating: 0, count: 256 * 256)
        for i in 0..<256 { x[i * 256 + i] = 1 + Float(i % 7) }
        let covariance = InputCovariance(width: 256)
        x.withUnsafeBufferPointer { covariance.add($0.baseAddress!, rows: 256) }
        let h = covariance.symmetric()
        let diagonal = (0..<256).map { Float(h[$0 * 256 + $0]) }
        let importance = ImportanceMatrix(entries: [name: .init(sumSquares: diagonal, count: 1)], datasets: [], chunkCount: 1, chunkSize: 1)
        let w = try Dequantize.tensor(source, source.tensor(name))
        for type in ["q2_K", "q4_K", "q6_K", "iq4_xs", "q5_1"] {
            let searched = try Self.quantize(source, type, importance: importance, feedback: [:], name: name)
            let fed = try Self.quantize(source, type, importance: importance, feedback: [name: ErrorFeedback(covariance)], name: name)
            #expect(TestData.weightedError(w, fed, columns: diagonal) <= TestData.weightedError(w, searched, columns: diagonal), "\(type)")
        }
    }

    @Test("inputs that are all zero are refused with a clear error")
    func zeroInputs() {
        let covariance = InputCovariance(width: 8)
        [Float](repeating: 0, count: 64).withUnsafeBufferPointer { covariance.add($0.baseAddress!, rows: 8) }
        #expect(throws: LLMQError.self) { try ErrorFeedback(covariance) }
    }
}
