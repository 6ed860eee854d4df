import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport

/// Deterministic test values and helpers shared by the quantizer tests.
enum TestData {
    /// Blocks of `blockSize` values that probe the codecs' edge cases, one kind per block in turn:
    /// Gaussian weights, an outlier, all +0, all −0, zeros of both signs among nonzero extremes, tiny
    /// values whose fp16 scale is subnormal or zero, values near fp16's limit, a constant block, and
    /// values that land exactly on rounding ties. Blocks of ±0 only, whose Q4_1 minimum sign numpy
    /// and ggml decide differently, are in `signedZeroBlocks`.
    static func hostile(blockSize n: Int, blocks: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        var values: [Float] = []
        values.reserveCapacity(n * blocks)
        for b in 0..<blocks {
            var block = (0..<n).map { _ in 0.02 * rng.normal() }
            switch b % 10 {
            case 1: block[rng.index(n)] = (rng.uniform() < 0.5 ? -1 : 1) * 0.02 * (10 + 20 * rng.uniform())
            case 2: block = [Float](repeating: 0, count: n)
            case 3: block = [Float](repeating: -0.0, count: n)
            case 4: for _ in 0..<n / 4 { block[rng.index(n)] = rng.uniform() < 0.5 ? -0.0 : 0 }
            case 5: block = block.map { $0 * 1e-6 }          // fp16 scale subnormal
            case 6: block = block.map { $0 * 1e-30 }         // fp16 scale zero
            case 7: block = block.map { $0 * 3e6 }.map { min(max($0, -60000), 60000) }
            case 8: block = [Float](repeating: 0.375 * (rng.uniform() < 0.5 ? -1 : 1), count: n)
            case 9:
                // With max |x| = 127 (q8_0) or an extreme of −8 (q4_0) the scale is exactly 1, so
                // halves sit on rounding ties: round-half-away and truncation must match ggml.
                block = (0..<n).map { Float($0 % 17) - 8.5 }
                block[0] = rng.uniform() < 0.5 ? 127 : -8
            default: break
            }
            values += block
        }
        return values
    }

    /// Blocks of only +0 and −0 in random patterns (q8_0 and q4_0 resolve them as gguf does).
    static func signedZeroBlocks(blockSize n: Int, blocks: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<n * blocks).map { _ in rng.uniform() < 0.5 ? -0.0 : 0 }
    }

    /// Every 2-D tensor of stories260K whose rows are whole 32-blocks, concatenated in file order.
    static func stories260KMatrices() throws -> [Float] {
        let model = try Llama2CReader.read(path: Fixtures.stories260K)
        var values: [Float] = []
        for t in model.tensors where t.shape.count == 2 && t.cols % 32 == 0 {
            values += try Dequantize.tensor(model, t)
        }
        return values
    }

    /// stories260K's matrices (`stories260KMatrices`) as rows of 256 values, the K-quants'
    /// super-block; the tail that fills no row is dropped.
    static func stories260KRows() throws -> [Float] {
        let values = try stories260KMatrices()
        return Array(values.prefix(values.count / 256 * 256))
    }

    /// Per-column importance as real imatrices have it: log-normal, spanning orders of magnitude.
    static func columnWeights(_ count: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in exp(1.5 * rng.normal()) }
    }

    /// Σ w·(x − y)² over rows of `w.count` values.
    static func weightedError(_ x: [Float], _ y: [Float], columns w: [Float]) -> Double {
        var sum = 0.0
        for i in x.indices {
            let d = Double(x[i]) - Double(y[i])
            sum += Double(w[i % w.count]) * d * d
        }
        return sum
    }

    /// What `scripts/reference/gguf_quants.py` produced for `values`: per type, the encoded bytes
    /// and gguf's dequantization of them.
    struct Reference {
        var bytes: [String: [UInt8]] = [:]
        var restored: [String: [Float]] = [:]
    }

    static func gguf(_ values: [Float], group: Int = 32, types: [String]) throws -> Reference {
        let dir = try Fixtures.scratch("gguf-quants")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Fixtures.write(values.withUnsafeBytes { Array($0) }, to: dir + "/in.f32")
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/gguf_quants.py").path
        let r = try Fixtures.run("/usr/bin/env", ["python3", script, dir + "/in.f32", dir, "--group", String(group),
                                                  "--types", types.joined(separator: ",")])
        guard r.status == 0 else { throw LLMQError(.io, "gguf_quants.py failed: \(r.stderr)") }
        var reference = Reference()
        for type in types {
            reference.bytes[type] = try Fixtures.read(dir + "/\(type).bin")
            reference.restored[type] = try Fixtures.read(dir + "/\(type).f32").withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return reference
    }

    /// llmq's encoding of `values` (rows of one block group), searched with `importance` (one
    /// weight per value) when given, and its fp32 expansion.
    static func llmq(_ values: [Float], as dtype: DType, importance: [Float]? = nil) throws -> (bytes: [UInt8], restored: [Float]) {
        var bytes = [UInt8](repeating: 0, count: values.count / dtype.blockSize * dtype.blockBytes)
        try values.withUnsafeBufferPointer { src in
            try bytes.withUnsafeMutableBytes { dst in
                if let importance {
                    try importance.withUnsafeBufferPointer { try Quantize.elements(src, as: dtype, into: dst, importance: $0) }
                } else {
                    try Quantize.elements(src, as: dtype, into: dst)
                }
            }
        }
        return (bytes, try decode(bytes, as: dtype, count: values.count))
    }

    /// `count` values decoded from `bytes` of `dtype`.
    static func decode(_ bytes: [UInt8], as dtype: DType, count: Int) throws -> [Float] {
        try bytes.withUnsafeBytes { raw in
            try [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                try Dequantize.elements(dtype, from: raw, range: 0..<count, into: buffer.baseAddress!)
                initialized = count
            }
        }
    }

    /// Index of the first differing byte, or nil.
    static func firstDifference(_ a: [UInt8], _ b: [UInt8]) -> Int? {
        if a.count != b.count { return min(a.count, b.count) }
        return zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset
    }

    /// Index of the first value whose bits differ, or nil (NaNs of any payload count as equal).
    static func firstBitDifference(_ a: [Float], _ b: [Float]) -> Int? {
        if a.count != b.count { return min(a.count, b.count) }
        return zip(a, b).enumerated().first { _, pair in
            !(pair.0.bitPattern == pair.1.bitPattern || (pair.0.isNaN && pair.1.isNaN))
        }?.offset
    }
}
