
extension Dequantize {
    /// A lazy view of `model` whose tensors are all fp32: each is expanded when a writer reads it
    /// and released with it, so `dequantize` streams in about one fp32 tensor of memory. fp32
    /// tensors are passed through untouched (still mapped).
    public static func fp32View(of model: Model) throws -> Model {
        let tensors = model.tensors.map { t in t.dtype == .f32 ? t : expanded(t, of: model, encoding: "from \(t.dtype)") }
        return try Model(format: model.format, files: model.files, config: model.config, tensors: tensors,
                         tokenizer: model.tokenizer, metadata: model.metadata)
    }

    /// `t` of `model` as a tensor expanded to fp32 when read — then passed through `transform` —
    /// whose source is released once expanded.
    public static func expanded(_ t: Tensor, of model: Model, encoding: String,
                                transform: @escaping @Sendable (UnsafeMutableBufferPointer<Float>) -> Void = { _ in }) -> Tensor {
        Tensor(name: t.name, shape: t.shape, dtype: .f32, fileIndex: t.fileIndex, offset: 0, storedByteCount: 0, encoding: encoding) { _ in
            defer { model.release(t) }
            let bytes = try model.data(t)
            let n = t.elementCount
            guard n > 0 else { return [] }
            return try [UInt8](unsafeUninitializedCapacity: n * 4) { buffer, count in
                let floats = UnsafeMutableRawPointer(buffer.baseAddress!).bindMemory(to: Float.self, capacity: n)
                try elements(t.dtype, from: bytes, range: 0..<n, into: floats)
                transform(UnsafeMutableBufferPointer(start: floats, count: n))
                count = n * 4
            }
        }
    }
}
