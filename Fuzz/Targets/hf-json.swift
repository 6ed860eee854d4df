import LLMQCore
import LLMQFormats

/// The JSON beside Hugging Face weights: the input is `config.json`, a NUL byte, then
/// `model.safetensors.index.json` (without a NUL, the same bytes serve as both). Both are written
/// into a directory of three real shards of the tiny seed model, which is then opened as
/// `llmq inspect DIR` would, and the model exercised as the commands do.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let split = input.firstIndex(of: 0)
    let config = UnsafeRawBufferPointer(rebasing: input[..<(split ?? size)])
    let index = split.map { UnsafeRawBufferPointer(rebasing: input[($0 + 1)...]) } ?? input
    let dir = HFShards.directory
    Harness.write(config, to: dir + "/" + HFConfig.fileName)
    Harness.write(index, to: dir + "/" + HFDirectory.indexFile)
    Harness.run { _ = try HFConfig.read(path: dir + "/" + HFConfig.fileName) }
    Harness.run { try Exercise.model(try SafetensorsReader.read(path: dir)) }
    return 0
}

enum HFShards {
    /// The tiny model as a Hugging Face directory in three shards (written once per process).
    static let directory: String = {
        let dir = Harness.subdirectory("hf")
        do {
            try HFDirectory.write(try Seeds.tiny(sharedClassifier: false), to: dir, maxShardBytes: 16_000)
        } catch {
            fatalError("cannot write the shards: \(error)")
        }
        return dir
    }()
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    Harness.writeSeedsIfAsked { dir in
        let config = try MappedFile(path: HFShards.directory + "/" + HFConfig.fileName)
        let index = try MappedFile(path: HFShards.directory + "/" + HFDirectory.indexFile)
        Harness.write(UnsafeRawBufferPointer(start: nil, count: 0), to: "\(dir)/empty")
        try Harness.copy(config.path, to: "\(dir)/config-only.json")
        ([UInt8](config.bytes) + [0] + [UInt8](index.bytes)).withUnsafeBytes { Harness.write($0, to: "\(dir)/config-and-index.json") }
    }
    return 0
}
