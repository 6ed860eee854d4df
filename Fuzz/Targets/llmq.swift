import LLMQCore
import LLMQFormats

/// llmq containers (.llmq/.q4/.q8): `inspect --check` on the input as it is, then on the input with
/// its checksums made to match (so mutations reach the table, tokenizer, metadata and zstd frames),
/// and everything `inspect`, `convert` and `run` do with a file that opens.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    _ = ModelFile.check(Harness.file("asis.llmq", input))
    let path = Harness.file("model.llmq", ContainerChecksums.refreshed(input))
    _ = ModelFile.check(path)
    Harness.run { try Exercise.model(try LLMQContainerReader.read(path: path)) }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Harness.writeSeedsIfAsked { dir in
        let tiny = try Seeds.tiny(), separate = try Seeds.tiny(sharedClassifier: false), bpe = try Seeds.tiny(byteLevel: true)
        try Seeds.container(tiny, to: "\(dir)/tiny-f32.llmq")
        try Seeds.container(try Seeds.quantized(tiny, "q8_0"), to: "\(dir)/tiny.q8")
        try Seeds.container(try Seeds.quantized(separate, "q4_0"), to: "\(dir)/tiny-separate.q4", zstd: true)
        try Seeds.container(try Seeds.quantized(bpe, "q4_1", group: 32), to: "\(dir)/tiny-bpe.q4", alignment: 128)
        try Seeds.container(try Seeds.quantized(tiny, "f16"), to: "\(dir)/tiny-f16.llmq", zstd: true)
        if let real = try Seeds.stories260K() {
            try Seeds.container(try Seeds.quantized(real, "q8_0"), to: "\(dir)/stories260K.q8", zstd: true)
        }
    }
    return 0
}
