import LLMQCore
import LLMQQuant

/// Lazy variants of a model for tests: some tensors replaced by transformed copies (stored fp32 or
/// fp16), computed when first read, so any writer or engine can take them like a file's model.
public enum ModelViews {
    /// `transform` rewrites the fp32 values of every tensor `select` picks; the result is stored as `dtype` (f32 or f16).
    public static func replacing(_ model: Model, label: String, dtype: DType = .f32, where select: (Tensor) -> Bool,
                                 _ transform: @escaping @Sendable (inout [Float]) -> Void = { _ in }) throws -> Model {
        let tensors = model.tensors.map { t -> Tensor in
            guard select(t) else { return t }
            return Tensor(name: t.name, shape: t.shape, dtype: dtype, offset: 0, storedByteCount: 0, encoding: label) { _ in
                var values = try Dequantize.tensor(model, t)
                transform(&values)
                return dtype == .f16 ? values.map { Float16($0) }.withUnsafeBytes { Array($0) } : values.withUnsafeBytes { Array($0) }
            }
        }
        // Untouched tensors still point into the original files; replaced ones read zero bytes of them.
        return try Model(format: FileFormat(name: label), files: model.files, config: model.config, tensors: tensors,
                         tokenizer: model.tokenizer)
    }

    /// Every matrix stored as fp16 (the fp16 kernels' path); norms stay fp32.
    public static func f16Matrices(_ model: Model) throws -> Model {
        try replacing(model, label: "f16 view", dtype: .f16, where: { $0.shape.count == 2 })
    }

    /// One tensor set to zero: a deliberately damaged model.
    public static func zeroed(_ model: Model, _ name: String) throws -> Model {
        try replacing(model, label: "\(name) zeroed", where: { $0.name == name }) { values in
            for i in values.indices { values[i] = 0 }
        }
    }

    /// Every matrix rounded to `bits` mantissa bits (round to nearest even): a small, realistic
    /// quantization-like error.
    public static func rounded(_ model: Model, mantissaBits bits: Int) throws -> Model {
        try replacing(model, label: "rounded to \(bits) mantissa bits", where: { $0.shape.count == 2 }) { values in
            let drop = UInt32(23 - bits)
            for i in values.indices {
                let b = values[i].bitPattern
                let half = UInt32(1) << (drop - 1), lsb = (b >> drop) & 1
                values[i] = Float(bitPattern: ((b &+ half &- 1 &+ lsb) >> drop) << drop)
            }
        }
    }
}
