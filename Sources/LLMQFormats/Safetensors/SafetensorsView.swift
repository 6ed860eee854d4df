import LLMQCore

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
            return view(of: source, in: model, named: outName, as: target, permutingHeads: heads, headDim: c.headDim)
        }
        return try Model(format: model.format, files: model.files, config: c, tensors: tensors, tokenizer: model.tokenizer)
    }

    private static func view(of source: Tensor, in model: Model, named name: String, as target: DType, permutingHeads heads: Int?,
                             headDim: Int) -> Tensor {
        var t = source
        t.name = name
        let cast = target != source.dtype
        guard cast || heads != nil else { return t }
        t.dtype = target
        t.storedRowOrder = nil   // the view's own decode makes its bytes; the source's order no longer applies
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
        // Piece by piece from the source's own stream; permuted rows go whole heads at a time.
        let cols = source.cols, sourceRowBytes = source.rowBytes
        t.stream = { _, rows, sink in
            let group = heads == nil ? 1 : headDim
            let piece = (rows + group - 1) / group * group
            func emit(_ raw: UnsafeRawBufferPointer) throws {
                let pieceRows = sourceRowBytes > 0 ? raw.count / sourceRowBytes : 0
                let converted = cast ? try FloatCast.convert(raw, from: sourceType, to: target, count: pieceRows * cols) : nil
                guard let heads = heads.map({ _ in pieceRows / headDim }) else {
                    return try converted.map { try $0.withUnsafeBytes(sink) } ?? sink(raw)
                }
                func permute(_ bytes: UnsafeRawBufferPointer) throws {
                    try RopePermutation.apply(bytes, heads: heads, headDim: headDim, rowBytes: rowBytes, .toRotateHalf).withUnsafeBytes(sink)
                }
                if let converted { try converted.withUnsafeBytes(permute) } else { try permute(raw) }
            }
            let regroup = RowRegrouper(rowBytes: sourceRowBytes, rows: piece)
            try model.stream(source, rows: piece) { try regroup.add($0, emit) }
            try regroup.finish(emit)
        }
        return t
    }
}

/// Converts elements of any dtype llmq reads to f32, f16 or bf16 with the block types' encoders,
/// which round to nearest even as PyTorch's `.to(dtype)` does. Works through the tensor in chunks,
/// so the only full-size buffer is the result.
enum FloatCast {
    static func convert(_ raw: UnsafeRawBufferPointer, from source: DType, to target: DType, count: Int) throws -> [UInt8] {
        guard SafetensorsView.floatTypes.contains(target), let encoder = target.encoder else {
            throw LLMQError(.unsupported, "cannot convert to \(target)")
        }
        // A multiple of every block size, so each chunk starts on a block boundary.
        let chunk = 1 << 16
        var floats = [Float](repeating: 0, count: min(chunk, count))
        var out = [UInt8](repeating: 0, count: count * target.blockBytes)
        try out.withUnsafeMutableBytes { dst in
            try floats.withUnsafeMutableBufferPointer { f in
                var start = 0
                while start < count {
                    let end = min(count, start + chunk)
                    try Dequantize.elements(source, from: raw, range: start..<end, into: f.baseAddress!)
                    encoder.encodeBlocks(f.baseAddress!, count: end - start, groupSize: 1, importance: nil,
                                         into: dst.baseAddress! + start * target.blockBytes)
                    start = end
                }
            }
        }
        return out
    }
}
