import LLMQCore
import LLMQEngine
import LLMQFormats

/// GGUF vocabularies (`tokenizer.ggml.*`: SentencePiece `llama` and byte-level BPE `gpt2` with
/// merges, token types and a pre-tokenizer name) turned into the engine's tokenizers, which then
/// encode and decode text. Seeds are small 4-bit files, so most of each input is metadata.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Harness.file("vocabulary.gguf", UnsafeRawBufferPointer(start: data, count: size))
    Harness.run {
        guard let vocabulary = try GGUFReader.read(path: path).tokenizer else { return }
        Exercise.tokenizer(try Tokenizers.make(vocabulary))
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Harness.writeSeedsIfAsked { dir in
        try GGUFWriter.write(try Seeds.quantized(try Seeds.tiny(), "q4_0"), to: "\(dir)/tiny-sentencepiece.gguf")
        try GGUFWriter.write(try Seeds.quantized(try Seeds.tiny(byteLevel: true), "q4_0"), to: "\(dir)/tiny-bpe.gguf")
        var gpt2 = Seeds.byteLevelVocabulary
        gpt2.preTokenizer = "gpt-2"
        let model = try Seeds.tiny(byteLevel: true)
        model.tokenizer = gpt2
        try GGUFWriter.write(try Seeds.quantized(model, "q4_0"), to: "\(dir)/tiny-bpe-gpt2.gguf")
    }
    return 0
}
