import Foundation
import LLMQCore
import LLMQEngine
import LLMQQuant
import LLMQTestSupport
import Testing

/// The integer kernels against a plain reference: the weight row and the quantized activation
/// (q8_0 blocks of 32, as the kernels make them) expanded by the reference codecs, dotted in fp64.
@Suite("Quantized matrix-vector kernels")
struct QuantizedKernelTests {
    /// Kernels add exact Int32 sub-block sums in fp32; allow fp32 rounding of the sum of |terms|.
    static let relativeTolerance = 1e-5

    /// Every block type with a kernel, at its own group size…
    static let kernelTypes = BlockTypes.all.filter { $0.blockSize > 1 }.map { DType($0) }.filter(MatVec.supports)
    /// …and at every group size it takes.
    static let dtypes = kernelTypes.flatMap { t in GroupSizes.flexible.map { t.grouped($0) } }.filter(MatVec.supports)
    /// Many inputs at the own group size, a few at another group where the type takes one.
    static let batches = kernelTypes.flatMap { t in
        [(t, 67)] + [t.grouped(128)].filter(MatVec.supports).map { ($0, 9) }
    }

    /// The fp16 fields (scales, minimums) of each type's block, by byte offset: random blocks have
    /// random bytes everywhere else — every code, scale and sign the layout can hold.
    static let fp16Fields: [String: [Int]] = [
        "q2_K": [80, 82], "q3_K": [108], "q4_K": [0, 2], "q5_K": [0, 2], "q6_K": [208], "iq4_nl": [0], "iq4_xs": [0], "q5_1": [0, 2],
    ]
    static let randomBlockTypes = kernelTypes.filter { fp16Fields[$0.name] != nil }

    /// Random rows with a few outliers, encoded by the type's reference encoder (random blocks for
    /// a type llmq does not write); `cols` covers sub-block tails (cols/32 not a multiple of 4).
    static func problem(_ dtype: DType, rows: Int, cols: Int, inputs: Int, seed: UInt64, random: Bool = false)
        throws -> (weights: [UInt8], x: [Float]) {
        var rng = SplitMix64(seed: seed)
        var w = (0..<rows * cols).map { _ in 0.05 * (2 * rng.uniform() - 1) }
        for i in stride(from: 7, to: w.count, by: 97) { w[i] *= 12 }
        let x = (0..<inputs * cols).map { _ in (2 * rng.uniform() - 1) * (rng.uniform() > 0.9 ? 6 : 1) }
        if random || dtype.encoder == nil { return (try randomBlocks(dtype, blocks: rows * cols / dtype.blockSize, &rng), x) }
        return (try Quantize.tensor(w, shape: [rows, cols], as: dtype), x)
    }

    /// Random bytes with fp16 fields of random sign and magnitude 2⁻¹²…2⁻⁷.
    static func randomBlocks(_ dtype: DType, blocks: Int, _ rng: inout SplitMix64) throws -> [UInt8] {
        let fields = try #require(fp16Fields[dtype.name], "\(dtype) has neither an encoder nor fp16Fields for random blocks")
        var bytes = (0..<blocks * dtype.blockBytes).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
        for b in 0..<blocks {
            for offset in fields {
                let value = Float16((rng.uniform() > 0.5 ? 1 : -1) * exp2(-12 + 5 * rng.uniform()))
                let bits = value.bitPattern
                bytes[b * dtype.blockBytes + offset] = UInt8(truncatingIfNeeded: bits)
                bytes[b * dtype.blockBytes + offset + 1] = UInt8(truncatingIfNeeded: bits >> 8)
            }
        }
        return bytes
    }

    static func expand(_ dtype: DType, _ bytes: [UInt8], count: Int) throws -> [Double] {
        try bytes.withUnsafeBytes { raw in
            var out = [Float](repeating: 0, count: count)
            try out.withUnsafeMutableBufferPointer { try Dequantize.elements(dtype, from: raw, range: 0..<count, into: $0.baseAddress!) }
            return out.map(Double.init)
        }
    }

    /// Reference y and Σ|terms| for input `t`.
    static func reference(_ dtype: DType, _ weights: [UInt8], _ x: [Float], t: Int, rows: Int, cols: Int)
        throws -> [(value: Double, magnitude: Double)] {
        let input = Array(x[t * cols..<(t + 1) * cols])
        let xq = try expand(.q8_0, Quantize.tensor(input, shape: [1, cols], as: .q8_0), count: cols)
        let w = try expand(dtype, weights, count: rows * cols)
        return (0..<rows).map { r in
            var value = 0.0, magnitude = 0.0
            for i in 0..<cols {
                value += w[r * cols + i] * xq[i]
                magnitude += abs(w[r * cols + i] * xq[i])
            }
            return (value, magnitude)
        }
    }

    @Test("every block kernel at every group size equals the reference within tolerance", arguments: dtypes)
    func matvec(dtype: DType) throws {
        try Self.matvec(dtype, random: false)
    }

    /// An odd number of blocks: groups of 32 and 64 leave a tail after the 4- and 8-sub-block
    /// steps. `kernels` nil runs the process's level.
    static func matvec(_ dtype: DType, random: Bool, kernels: MatVec.Kernels? = nil) throws {
        let rows = 37, cols = dtype.blockSize * [32: 37, 64: 19, 128: 9, 256: 5][dtype.blockSize]!
        #expect(MatVec.supports(dtype))
        let (weights, x) = try problem(dtype, rows: rows, cols: cols, inputs: 1, seed: UInt64(dtype.blockSize), random: random)
        let matvec = MatVec(pool: ThreadPool(threads: 2), kernels: kernels)
        #expect(kernels == nil || matvec.kernels == kernels)
        var y = [Float](repeating: .nan, count: rows)
        weights.withUnsafeBytes { w in
            let matrix = WeightMatrix(rows: rows, cols: cols, dtype: dtype, data: w.baseAddress!)
            matvec(matrix, x, &y)
        }
        let expected = try reference(dtype, weights, x, t: 0, rows: rows, cols: cols)
        for r in 0..<rows {
            let limit = relativeTolerance * expected[r].magnitude
            #expect(abs(Double(y[r]) - expected[r].value) <= limit,
                    "\(dtype) \(matvec.kernels) row \(r): \(y[r]) vs \(expected[r].value)")
        }
    }

    /// 71 rows split over two threads leave, after the eight-row interleaved groups, a pair and a
    /// single row for the in-place tiles; 67 inputs leave 3 after the 4-input tiles. The
    /// interleaved groups sum in another order than a single call, so the two agree to rounding.
    @Test("batched kernels agree with single calls and with the reference",
          arguments: batches)
    func batched(dtype: DType, inputs: Int) throws {
        try Self.batched(dtype, inputs: inputs, random: false)
    }

    static func batched(_ dtype: DType, inputs: Int, random: Bool) throws {
        let rows = 71, cols = 512
        let (weights, x) = try problem(dtype, rows: rows, cols: cols, inputs: inputs, seed: 11, random: random)
        let matvec = MatVec(pool: ThreadPool(threads: 2))
        var batch = [Float](repeating: .nan, count: inputs * rows)
        var single = [Float](repeating: .nan, count: rows)
        try weights.withUnsafeBytes { w in
            let matrix = WeightMatrix(rows: rows, cols: cols, dtype: dtype, data: w.baseAddress!)
            matvec.batched(matrix, x, count: inputs, &batch)
            for t in 0..<inputs {
                x.withUnsafeBufferPointer { matvec(matrix, $0.baseAddress! + t * cols, &single) }
                let expected = try reference(dtype, weights, x, t: t, rows: rows, cols: cols)
                if MatVec.kernels != .portable {
                    #expect(Array(batch[t * rows..<(t + 1) * rows]) != single, "\(dtype) input \(t): the interleaved path did not run")
                }
                for r in 0..<rows {
                    let limit = relativeTolerance * expected[r].magnitude
                    #expect(abs(Double(single[r]) - expected[r].value) <= limit, "\(dtype) input \(t) row \(r)")
                    #expect(abs(Double(batch[t * rows + r]) - expected[r].value) <= limit, "\(dtype) batched input \(t) row \(r)")
                }
            }
        }
    }

    /// Encoders reach only the codes, scales and signs their rounding produces; random bytes
    /// hold every one the layout can.
    @Test("kernels on random blocks (every code, scale and minimum) equal the reference", arguments: randomBlockTypes)
    func randomBlocks(dtype: DType) throws {
        try Self.matvec(dtype, random: true)
        try Self.batched(dtype, inputs: 13, random: true)
    }

    /// CI runs the suite twice on x86-64, once with the `PortableKernels` trait, and names the
    /// kernels it expects in LLMQ_KERNELS (`x86` for the best x86 level), so a build setting that
    /// silently picks other kernels, or a level the machine lacks, fails here.
    @Test("the build runs the kernels CI asked for", .enabled(if: ProcessInfo.processInfo.environment["LLMQ_KERNELS"] != nil))
    func kernelsInUse() {
        let requested = ProcessInfo.processInfo.environment["LLMQ_KERNELS"]
        if requested == "x86" {
            #expect(MatVec.kernels == MatVec.Kernels.available[0] && MatVec.kernels != .portable)
        } else {
            #expect(MatVec.kernels.rawValue == requested)
        }
    }

    @Test("types without a kernel, or at a group the kernels do not take, are expanded at load")
    func support() {
        #expect(!MatVec.supports(DType(Q8_L2C.self, blockSize: 64)) && !MatVec.supports(DType.q8_0.grouped(48)))
        #expect(MatVec.supports(.f32) && MatVec.supports(.f16) && MatVec.supports(.bf16))
        #expect([DType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_nl, .iq4_xs].allSatisfy(MatVec.supports))
    }
}
