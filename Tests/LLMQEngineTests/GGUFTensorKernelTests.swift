import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import Testing

/// The integer kernels on the matrices of real files, as llama.cpp's quantizer wrote them: every
/// block-quantized matrix with a kernel, its first rows against the reference of
/// `QuantizedKernelTests`. LLMQ_KERNEL_FILES names the files (colon-separated);
/// docs/benchmarks.md shows how to make K-quant GGUFs of SmolLM2 with llama-quantize.
@Suite("kernels on real files' matrices",
       .enabled(if: ProcessInfo.processInfo.environment["LLMQ_KERNEL_FILES"] != nil))
struct GGUFTensorKernelTests {
    static let files = (ProcessInfo.processInfo.environment["LLMQ_KERNEL_FILES"] ?? "").split(separator: ":").map(String.init)

    @Test("single and batched products of every quantized matrix equal the reference", arguments: files)
    func matrices(path: String) throws {
        let model = try ModelFile.open(path)
        let matvec = MatVec(pool: ThreadPool(threads: 2))
        var checked: [String: Int] = [:]
        for tensor in model.tensors where tensor.shape.count == 2 && tensor.dtype.isBlockQuantized && MatVec.supports(tensor.dtype) {
            let rows = min(tensor.rows, 40), cols = tensor.cols, inputs = 5
            let rowBytes = cols / tensor.dtype.blockSize * tensor.dtype.blockBytes
            let weights = Array(try model.data(tensor)[0..<rows * rowBytes])
            var rng = SplitMix64(seed: UInt64(checked.values.reduce(0, +)))
            let x = (0..<inputs * cols).map { _ in (2 * rng.uniform() - 1) * (rng.uniform() > 0.9 ? 6 : 1) }
            var single = [Float](repeating: .nan, count: rows), batch = [Float](repeating: .nan, count: inputs * rows)
            try weights.withUnsafeBytes { w in
                let matrix = WeightMatrix(rows: rows, cols: cols, dtype: tensor.dtype, data: w.baseAddress!)
                matvec.batched(matrix, x, count: inputs, &batch)
                for t in 0..<inputs {
                    x.withUnsafeBufferPointer { matvec(matrix, $0.baseAddress! + t * cols, &single) }
                    let expected = try QuantizedKernelTests.reference(tensor.dtype, weights, x, t: t, rows: rows, cols: cols)
                    for r in 0..<rows {
                        let limit = QuantizedKernelTests.relativeTolerance * expected[r].magnitude
                        #expect(abs(Double(single[r]) - expected[r].value) <= limit, "\(tensor.name) input \(t) row \(r)")
                        #expect(abs(Double(batch[t * rows + r]) - expected[r].value) <= limit, "\(tensor.name) batched input \(t) row \(r)")
                    }
                }
            }
            checked[tensor.dtype.description, default: 0] += 1
        }
        #expect(!checked.isEmpty, "\(path) holds no matrix with a kernel")
        print("\(path): \(checked.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))")
    }
}
