import LLMQCore
import LLMQFormats

/// llama2.c checkpoints (v0 legacy, v1 fp32, v2 int8 groups): the header against the file length,
/// then everything `inspect`, `convert` and `run` do with what the reader accepts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Harness.file("model.bin", UnsafeRawBufferPointer(start: data, count: size))
    Harness.run { try Exercise.model(try Llama2CReader.read(path: path)) }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Harness.writeSeedsIfAsked { dir in
        for (name, shared) in [("tiny-shared", true), ("tiny-separate", false)] {
            let model = try Seeds.tiny(sharedClassifier: shared)
            for version in 0...2 {
                try Llama2CWriter.write(model, to: "\(dir)/\(name)-v\(version).bin", version: version, groupSize: 16)
            }
        }
    }
    return 0
}
