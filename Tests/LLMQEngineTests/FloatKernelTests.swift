import LLMQCore
import LLMQEngine
import LLMQQuant
import LLMQTestSupport
import Testing

/// The float kernels against a plain fp64 dot product of the same (decoded) weights.
@Suite("float matrix kernels")
struct FloatKernelTests {
    /// fp32 accumulation in another order: allow fp32 rounding of the sum of |terms|.
    static let relativeTolerance = 1e-5

    /// Shapes covering every loop tail: cols below 8, not a multiple of 8, 16 or 32; rows not a
    /// multiple of the 4-row tile; inputs not a multiple of the 3- or 6-input tiles. Every kernel
    /// level the machine runs.
    static let cases: [(dtype: DType, rows: Int, cols: Int)] = BlockTypes.all.map { DType($0) }
        .filter { !$0.isBlockQuantized && MatVec.supports($0) }.flatMap { dtype in
        [(5, 3), (9, 37), (70, 64), (13, 203)].map { (dtype, $0.0, $0.1) }
    }

    @Test("matvec and batched products equal an fp64 reference", arguments: cases)
    func products(dtype: DType, rows: Int, cols: Int) throws {
        var rng = SplitMix64(seed: UInt64(rows * 1000 + cols))
        let values = (0..<rows * cols).map { _ in 2 * rng.uniform() - 1 }
        let inputs = 13
        let x = (0..<inputs * cols).map { _ in 2 * rng.uniform() - 1 }
        let encoded = try Quantize.tensor(values, shape: [rows, cols], as: dtype)
        var decoded = [Float](repeating: .nan, count: values.count)
        try encoded.withUnsafeBytes { raw in
            try decoded.withUnsafeMutableBufferPointer { try Dequantize.elements(dtype, from: raw, range: 0..<values.count, into: $0.baseAddress!) }
        }
        let w = decoded.map(Double.init)
        for level in MatVec.Kernels.available {
            let matvec = MatVec(pool: ThreadPool(threads: 2), kernels: level)
            var single = [Float](repeating: .nan, count: rows), batched = [Float](repeating: .nan, count: inputs * rows)
            try encoded.withUnsafeBytes { raw in
                let matrix = WeightMatrix(rows: rows, cols: cols, dtype: dtype, data: try #require(raw.baseAddress))
                matvec.batched(matrix, x, count: inputs, &batched)
                for t in 0..<inputs {
                    x.withUnsafeBufferPointer { matvec(matrix, $0.baseAddress! + t * cols, &single) }
                    for r in 0..<rows {
                        let terms = (0..<cols).map { w[r * cols + $0] * Double(x[t * cols + $0]) }
                        let limit = Self.relativeTolerance * terms.reduce(0) { $0 + abs($1) }
                        let expected = terms.reduce(0, +)
                        #expect(abs(Double(single[r]) - expected) <= limit, "\(dtype) \(rows)×\(cols) input \(t) row \(r)")
                        #expect(abs(Double(batched[t * rows + r]) - expected) <= limit, "\(dtype) \(level) batched input \(t) row \(r)")
                    }
                }
            }
        }
    }
}
