import LLMQCore
import LLMQQuant

/// What a safetensors writer emits, as a lazy model over the source: output names, Hugging Face
/// row order for Q and K, and the output element type. Each tensor is produced only when the
/// writer asks for it, so a conversion holds one tensor at a time.
enum SafetensorsView {
    /// Element types a safetensors file can hold that llmq writes for weights.
    static let floatTypes: [DType] = [.f32, .f16, .bf16]

    static func make(_ model: Model, layout: SafetensorsWriter.Layout, floatType: DType?) throws -> Model {
        if let floatType, !floatTypes.contains(floatType) {
            throw LLMQError(.usage, "safetensors weights can be written as f32, f16 or bf16, not \(floatType)")
        }
        try model.validateLlamaTensors()
        let c = model.config
        let tensors = try CanonicalName.expectedTensors(c).map { name, _ -> Tensor in
            let source = try model.tensor(name)
            var outName = name
            var heads: Int?
            if layout == .huggingFace {
                guard let hf = HFTensorNames.hfName(canonical: name) else {
                    throw LLMQError(.invalid, "has no Hugging Face name", tensor: name)
                }
                outName = hf
                heads = SafetensorsReader.ropeHeads(HFTensorNames.canonical(hfName: hf)?.layerTensor, c)
            }
            let target = floatType ?? (floatTypes.contains(source.dtype) ? source.dtype : .f32)
            return view(of: source, named: outName, as: target, permutingHeads: heads, headDim: c.headDim)
        }
        return try Model(format: model.format, files: model.files, config: c, tensors: tensors, tokenizer: model.tokenizer)
    }

    private static func view(of source: Tensor, named name: String, as target: DType, permutingHeads heads: Int?, headDim: Int) -> Tensor {
        var t = source
        t.name = name
        let cast = target != source.dtype
        guard cast || heads != nil else { return t }
        t.dtype = target
        t.encoding = [heads != nil ? "rope-permuted" : nil, cast ? "\(source.dtype)→\(target)" : nil].compactMap { $0 }.joined(separator: "+")
        let sourceDecode = source.decode, sourceType = source.dtype, count = source.elementCount, rows = source.rows
        let rowBytes = rows > 0 ? (target.byteCount(shape: source.shape) ?? 0) / rows : 0
        t.decode = { stored in
            func convert(_ raw: UnsafeRawBufferPointer) throws -> [UInt8] {
                let converted = cast ? try FloatCast.convert(raw, from: sourceType, to: target, count: count) : nil
                guard let heads else { return converted ?? Array(raw) }
                guard let converted else {
                    return try RopePermutation.apply(raw, heads: heads, headDim: headDim, rowBytes: rowBytes, .toRotateHalf)
                }
                return try converted.withUnsafeBytes {
                    try RopePermutation.apply($0, heads: heads, headDim: headDim, rowBytes: rowBytes, .toRotateHalf)
                }
            }
            guard let sourceDecode else { return try convert(stored) }
            return try sourceDecode(stored).withUnsafeBytes(convert)
        }
        return t
    }
}

/// Converts elements of any dtype llmq reads to f32, f16 or bf16, rounding to nearest even as
/// PyTorch's `.to(dtype)` does.
enum FloatCast {
    static func convert(_ raw: UnsafeRawBufferPointer, from source: DType, to target: DType, count: Int) throws -> [UInt8] {
        var floats = [Float](repeating: 0, count: count)
        if count > 0 {
            try floats.withUnsafeMutableBufferPointer { try Dequantize.elements(source, from: raw, range: 0..<count, into: $0.baseAddress!) }
        }
        switch target.kind {
        case .f32:
            return floats.withUnsafeBytes { Array($0) }
        case .f16:
            return floats.map { Float16($0) }.withUnsafeBytes { Array($0) }
        case .bf16:
            return floats.map(bfloat16).withUnsafeBytes { Array($0) }
        default:
            throw LLMQError(.unsupported, "cannot convert to \(target)")
        }
    }

    /// The bfloat16 bits nearest to `x` (ties to even); NaNs stay NaN.
    static func bfloat16(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(bits >> 16) | 0x0040 }
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}
