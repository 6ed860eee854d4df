import LLMQCore
import LLMQEngine
import LLMQFormats

/// llama2.c `tokenizer.bin` (what `run -z` loads), then the SentencePiece tokenizer built from it
/// encoding and decoding text.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Harness.file("tokenizer.bin", UnsafeRawBufferPointer(start: data, count: size))
    Harness.run { Exercise.tokenizer(try Tokenizers.make(try Llama2CTokenizerFile.read(path: path))) }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Harness.writeSeedsIfAsked { dir in
        for vocab in [3, 259, 300] {
            try Llama2CTokenizerFile.write(SyntheticModel.tokenizer(vocabSize: vocab), to: "\(dir)/synthetic-\(vocab).bin")
        }
    }
    return 0
}
