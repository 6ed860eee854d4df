import LLMQCore
import LLMQFormats

/// GGUF v3: the header, every metadata value (nested arrays included), the tensor infos against
/// the file, the llama config and vocabulary keys; then what the commands do with the model.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Harness.file("model.gguf", UnsafeRawBufferPointer(start: data, count: size))
    Harness.run { try Exercise.model(try GGUFReader.read(path: path)) }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Harness.writeSeedsIfAsked { dir in
        let tiny = try Seeds.tiny()
        try GGUFWriter.write(tiny, to: "\(dir)/tiny-f32.gguf")
        try GGUFWriter.write(try Seeds.quantized(try Seeds.tiny(sharedClassifier: false), "q8_0"), to: "\(dir)/tiny-separate-q8_0.gguf")
        try GGUFWriter.write(try Seeds.quantized(try Seeds.tiny(byteLevel: true), "q4_1"), to: "\(dir)/tiny-bpe-q4_1.gguf")
        try GGUFWriter.write(try Seeds.quantized(tiny, "bf16"), to: "\(dir)/tiny-bf16.gguf")
    }
    return 0
}
