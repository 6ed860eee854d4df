#if canImport(Glibc)
import Glibc
#endif
import LLMQCore

/// Writes llama2.c checkpoints that `run.c` (v0) and `runq.c` (v2) load, and `export.py`'s v1.
public enum Llama2CWriter {
    /// - Parameters:
    ///   - version: 0 legacy fp32 (with RoPE tables, as run.c expects), 1 fp32, 2 int8 groups.
    ///   - groupSize: version 2 only; halved until it divides dim, as export.py does.
    public static func write(_ model: Model, to path: String, version: Int, groupSize: Int = 64,
                             progress: (Int, Int) throws -> Void = { _, _ in }) throws {
        let c = model.config
        try model.validateLlamaTensors()
        guard c.ropeTheta == 10000 else {
            throw LLMQError(.unsupported, "llama2.c checkpoints cannot record rope base \(c.ropeTheta) (run.c assumes 10000)", file: path)
        }
        guard (0...2).contains(version) else { throw LLMQError(.usage, "llama2.c version \(version) (0, 1 or 2)", file: path) }
        var group = groupSize
        while group > 1 && c.dim % group != 0 { group /= 2 }

        let out = try AtomicFileWriter(path: path, refusingToOverwrite: model.files.map(\.path))
        if version == 0 {
            for v in header(c, markSeparateClassifier: true) { try out.write(Int32(v)) }
        } else {
            try out.write(Llama2CLayout.magic)
            try out.write(Int32(version))
            for v in header(c, markSeparateClassifier: false) { try out.write(Int32(v)) }
            try out.write(UInt8(c.sharedClassifier ? 1 : 0))
            if version == 2 { try out.write(Int32(group)) }
            try out.writeZeros(Llama2CLayout.headerBytes - out.position)
        }
        let order = Llama2CLayout.order(version: version, config: c)
        for (i, entry) in order.enumerated() {
            let t = try model.tensor(entry.name)
            if version == 2 && !CanonicalName.isNorm(t.name) {
                try writeGrouped(model, t, group: group, to: out)
            } else {
                try writeF32(model, t, to: out)
            }
            if version == 0 && t.name == CanonicalName.outputNorm { try writeRopeTables(c, to: out) }
            model.release(t)
            try progress(i + 1, order.count)
        }
        try out.commit()
    }

    /// The 7 int32 config fields; legacy files mark a separate classifier with a negative vocab_size.
    private static func header(_ c: ModelConfig, markSeparateClassifier: Bool) -> [Int] {
        let vocab = markSeparateClassifier && !c.sharedClassifier ? -c.vocabSize : c.vocabSize
        return [c.dim, c.hiddenDim, c.layerCount, c.headCount, c.kvHeadCount, vocab, c.contextLength]
    }

    static func writeF32(_ model: Model, _ t: Tensor, to out: AtomicFileWriter) throws {
        try Dequantize.chunks(model, t) { _, values in try out.write(UnsafeRawBufferPointer(values)) }
    }

    /// export.py's quantize_q80: per group, scale = max|w| / 127 and q = round-half-even(w / scale);
    /// all int8 values of the tensor, then all fp32 scales.
    static func writeGrouped(_ model: Model, _ t: Tensor, group: Int, to out: AtomicFileWriter) throws {
        if t.dtype == DType(Q8_L2C.self, blockSize: group) {
            try out.write(try model.data(t))
            return
        }
        guard t.elementCount % group == 0 else {
            throw LLMQError(.unsupported, "\(t.elementCount) elements are not a multiple of the group size \(group)", tensor: t.name)
        }
        var scales: [Float] = []
        scales.reserveCapacity(t.elementCount / group)
        // Groups run across rows (ffn_down rows are hidden_dim wide), so chunks must hold whole rows
        // and whole groups: a multiple of lcm(row length, group).
        let lcm = t.cols / gcd(t.cols, group) * group
        try Dequantize.chunks(model, t, chunkElements: max(1, (1 << 20) / lcm) * lcm) { _, values in
            var q = [Int8](repeating: 0, count: values.count)
            for g in stride(from: 0, to: values.count, by: group) {
                var wmax: Float = 0
                for i in g..<(g + group) { wmax = max(wmax, abs(values[i])) }
                let scale = wmax / 127
                scales.append(scale)
                if scale > 0 {
                    for i in g..<(g + group) { q[i] = Int8((values[i] / scale).rounded(.toNearestOrEven)) }
                }
            }
            try q.withUnsafeBytes { try out.write($0) }
        }
        try scales.withUnsafeBytes { try out.write($0) }
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

    /// The unused freq_cis tables legacy files carry, computed as llama2.c's model.py does in fp32.
    static func writeRopeTables(_ c: ModelConfig, to out: AtomicFileWriter) throws {
        let half = c.headDim / 2
        let freqs = (0..<half).map { 1 / powf(c.ropeTheta, Float(2 * $0) / Float(c.headDim)) }
        for table in [cosf, sinf] as [(Float) -> Float] {
            var values = [Float]()
            values.reserveCapacity(c.contextLength * half)
            for t in 0..<c.contextLength {
                for f in freqs { values.append(table(Float(t) * f)) }
            }
            try values.withUnsafeBytes { try out.write($0) }
        }
    }
}
