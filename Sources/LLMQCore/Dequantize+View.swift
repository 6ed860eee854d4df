
extension Dequantize {
    /// A lazy view of `model` whose tensors are all fp32: each is expanded when a writer reads it
    /// and released with it, so `dequantize` streams in about one fp32 tensor of memory. fp32
    /// tensors are passed through untouched (still mapped).
    public static func fp32View(of model: Model) throws -> Model {
        let tensors = model.tensors.map { t -> Tensor in
            if t.dtype == .f32 { return t }
            return Tensor(name: t.name, shape: t.shape, dtype: .f32, fileIndex: t.fileIndex, offset: 0, storedByteCount: 0,
                          encoding: "from \(t.dtype)") { _ in
                defer { model.release(t) }
                let bytes = try model.data(t)
                let n = t.elementCount
                guard n > 0 else { return [] }
                return try [UInt8](unsafeUninitializedCapacity: n * 4) { buffer, count in
                    let floats = UnsafeMutableRawPointer(buffer.baseAddress!).bindMemory(to: Float.self, capacity: n)
                    try elements(t.dtype, from: bytes, range: 0..<n, into: floats)
                    count = n * 4
                }
            }
        }
        return try Model(format: model.format, files: model.files, config: model.config, tensors: tensors,
                         tokenizer: model.tokenizer, metadata: model.metadata)
    }
}
