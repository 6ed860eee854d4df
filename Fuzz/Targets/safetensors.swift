import LLMQCore
import LLMQFormats

/// One safetensors file: the 8-byte length, the JSON header (names, dtypes, shapes, offsets,
/// `__metadata__` with llmq's config and tokenizer), the tiling of the data section; then what the
/// commands do with the model. A `config.json` of the tiny seed shape lies beside it, for files
/// written without `llmq.config` (as a Hugging Face directory holds them).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Harness.file("model.safetensors", UnsafeRawBufferPointer(start: data, count: size))
    Harness.run { try Exercise.model(try SafetensorsReader.read(path: path)) }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Harness.writeSeedsIfAsked { dir in
        let tiny = try Seeds.tiny(), separate = try Seeds.tiny(sharedClassifier: false)
        try SafetensorsWriter.write(tiny, to: "\(dir)/tiny-hf.safetensors")
        try SafetensorsWriter.write(separate, to: "\(dir)/tiny-canonical.safetensors", options: .init(layout: .canonical))
        try SafetensorsWriter.write(try Seeds.quantized(tiny, "q8_0"), to: "\(dir)/tiny-bf16.safetensors", options: .init(floatType: .bf16))
        try SafetensorsWriter.write(try Seeds.tiny(byteLevel: true), to: "\(dir)/tiny-bpe.safetensors", options: .init(floatType: .f16))
        let hf = Harness.subdirectory("seed-hf")
        try HFDirectory.write(tiny, to: hf)
        try Harness.copy(hf + "/model.safetensors", to: "\(dir)/tiny-hf-directory.safetensors")
    }
    Harness.file("config.json", Array(HFConfig.json(Seeds.tinyConfig, torchDType: "float32", bosID: 1, eosID: 2).pretty.utf8))
    return 0
}
