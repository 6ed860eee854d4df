import LLMQCore
import LLMQEngine
import LLMQTestSupport
import Testing

/// The x86-64 kernel levels against each other. Integer dot products are exact and the AVX-512
/// VNNI tiles scale and add each row's sub-blocks in the AVX2 tiles' order, so the two must give
/// the same bits, not just the same values to rounding; each level is also held to the reference
/// by `QuantizedKernelTests` (run with LLMQ_KERNELS=avx2 as well as the default).
@Suite("kernel levels")
struct KernelLevelTests {
    static let vnni = MatVec.Kernels.available.contains(.avx512vnni)

    /// Every block type with a kernel at its own group size, and at 128 where it takes one.
    static let dtypes = QuantizedKernelTests.kernelTypes.flatMap { t in [t] + [t.grouped(128)].filter { $0 != t && MatVec.supports($0) } }

    /// 1 thread, 59 rows: three 16-row VNNI groups, one 8-row AVX2 group and three rows for the
    /// in-place tiles; 2 threads, 150 rows: each thread's chunk splits the same way at both
    /// levels. 13 inputs leave one after the four-input tiles.
    @Test("AVX-512 VNNI batched products equal the AVX2 ones bit for bit", .enabled(if: vnni), arguments: dtypes)
    func vnniMatchesAVX2(dtype: DType) throws {
        for (threads, rows, random) in [(1, 59, false), (2, 150, false), (2, 150, true)] {
            if random && QuantizedKernelTests.fp16Fields[dtype.name] == nil { continue }
            let cols = 512, inputs = 13
            let (weights, x) = try QuantizedKernelTests.problem(dtype, rows: rows, cols: cols, inputs: inputs, seed: 5, random: random)
            let pool = ThreadPool(threads: threads)
            let wide = MatVec(pool: pool, kernels: .avx512vnni), narrow = MatVec(pool: pool, kernels: .avx2)
            #expect(wide.kernels == .avx512vnni && narrow.kernels == .avx2)
            var a = [Float](repeating: .nan, count: inputs * rows), b = a
            weights.withUnsafeBytes { w in
                let matrix = WeightMatrix(rows: rows, cols: cols, dtype: dtype, data: w.baseAddress!)
                wide.batched(matrix, x, count: inputs, &a)
                narrow.batched(matrix, x, count: inputs, &b)
            }
            let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(dtype) \(threads) threads, \(rows) rows\(random ? ", random blocks" : ""): \(differing) of \(a.count) differ")
            #expect(!a.contains { $0.isNaN }, "\(dtype): an output was not written")
        }
    }

    /// Matrix–vector products have a kernel of their own at each level (`avx512vnni`: the
    /// `CAVX512` decode products of q8_0, q4_0, q5_0, q4_K and q6_K); each is held to the
    /// reference, on encoded and on random blocks.
    @Test("matrix-vector products at every level equal the reference", arguments: dtypes)
    func matvecAtEveryLevel(dtype: DType) throws {
        for level in MatVec.Kernels.available {
            try QuantizedKernelTests.matvec(dtype, random: false, kernels: level)
            if QuantizedKernelTests.fp16Fields[dtype.name] != nil { try QuantizedKernelTests.matvec(dtype, random: true, kernels: level) }
        }
    }

    @Test("a level the build or CPU lacks falls back to the best available")
    func fallback() {
        let best = MatVec.Kernels.available[0]
        for level in MatVec.Kernels.allCases {
            let chosen = MatVec(pool: ThreadPool(threads: 1), kernels: level).kernels
            #expect(chosen == (MatVec.Kernels.available.contains(level) ? level : best))
        }
    }
}
