import Foundation
import LLMQCore
import LLMQFormats

/// How a model file is written where its format leaves a choice.
public struct OutputSettings: Sendable, Hashable {
    /// The format; nil: from the output path's extension (`.bin`, `.llmq`/`.q4`/`.q8`, `.gguf`, `.safetensors`).
    public var format: ModelFile.OutputFormat?
    /// zstd level for each tensor of a container that compresses (nil: stored as is).
    public var zstdLevel: Int?
    /// llama2.c checkpoint version for `.bin` outputs (0 legacy, 1 fp32, 2 int8 groups) and its group size.
    public var llama2cVersion = 0
    public var llama2cGroupSize = 64

    public init(format: ModelFile.OutputFormat? = nil, zstdLevel: Int? = nil, llama2cVersion: Int = 0, llama2cGroupSize: Int = 64) {
        self.format = format
        self.zstdLevel = zstdLevel
        self.llama2cVersion = llama2cVersion
        self.llama2cGroupSize = llama2cGroupSize
    }

    func validate() throws {
        if let zstdLevel, !Zstd.levels.contains(zstdLevel) { throw LLMQError(.usage, "zstd level \(zstdLevel) must be in \(Zstd.levels)") }
        guard (0...2).contains(llama2cVersion) else { throw LLMQError(.usage, "llama2.c version \(llama2cVersion) must be 0, 1 or 2") }
    }

    /// Spelled out in the metadata of the file written.
    var parameters: [String: String] {
        ["zstd": zstdLevel.map(String.init) ?? "off"]
    }
}

/// A model file written: what it is and how long it took.
public struct ConversionResult: Codable, Sendable, Hashable {
    public var input: String
    public var output: String
    /// The written file's format, as `inspect` names it.
    public var format: String
    public var tensorCount: Int
    public var inputBytes: Int
    public var outputBytes: Int
    public var seconds: Double

    public init(input: String, output: String, format: String, tensorCount: Int, inputBytes: Int, outputBytes: Int, seconds: Double) {
        self.input = input
        self.output = output
        self.format = format
        self.tensorCount = tensorCount
        self.inputBytes = inputBytes
        self.outputBytes = outputBytes
        self.seconds = seconds
    }

    /// Input megabytes (10⁶ bytes) per second.
    public var megabytesPerSecond: Double { Double(inputBytes) / 1e6 / max(seconds, 1e-9) }
}

/// Writes a model (the input or a view of it) atomically, recording in a container how it was made.
struct ModelWriter {
    var source: Model
    var output: String
    var settings: OutputSettings
    /// The provenance a container records: the command and its parameters.
    var command: String
    var parameters: [String: String]
    var threads: Int?
    /// A GGUF's `general.file_type` (a llama.cpp mix's); nil derives it from the tensors.
    var ggufFileType: UInt32?
    var ggufText: [(key: String, value: String)] = []

    /// Writes `model` and reopens the file; `quantization`, called after the last tensor, is what
    /// a container records of the quantization.
    func write(_ model: Model, phase: Phase, monitor: Monitor,
               quantization: (@Sendable () -> ContainerMetadata.Quantization?)? = nil) throws -> (result: ConversionResult, written: Model) {
        try settings.validate()
        try checkThreads(threads)
        let start = ContinuousClock.now
        let all = settings.parameters.merging(parameters) { _, new in new }
        let source = self.source, command = self.command
        // A container records the input's XXH64 digest, one more full read of it: with a thread to
        // spare, take it while the tensors are encoded and written rather than after them.
        var digest: BackgroundResult<ContainerMetadata.Source>?
        if try ModelFile.outputFormat(for: output, explicit: settings.format) == .llmq, threads != 1 {
            digest = BackgroundResult { try ContainerMetadata.Source(of: source) }
        }
        var options = ModelFile.WriteOptions()
        options.llama2cVersion = settings.llama2cVersion
        options.llama2cGroupSize = settings.llama2cGroupSize
        options.container.zstdLevel = settings.zstdLevel
        if let threads { options.container.threads = threads }
        options.ggufFileType = ggufFileType
        options.ggufText = ggufText
        options.metadata = { [digest] _ in
            ContainerMetadata(config: source.config, created: ContainerMetadata.Created(command: command, parameters: all),
                              source: try digest?.value() ?? ContainerMetadata.Source(of: source), quantization: quantization?(),
                              extra: Dictionary(source.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }))
        }
        try monitor.checkCancellation()
        try ModelFile.write(model, to: output, format: settings.format, options: options, progress: monitor.writing(phase))
        let seconds = (ContinuousClock.now - start) / .seconds(1)
        let written = try ModelFile.open(output)
        let result = ConversionResult(input: source.path, output: output, format: written.format.description, tensorCount: written.tensors.count,
                                      inputBytes: source.totalFileBytes, outputBytes: written.totalFileBytes, seconds: seconds)
        return (result, written)
    }
}

/// A value computed on a thread of its own; `value()` waits for it.
final class BackgroundResult<Value: Sendable>: @unchecked Sendable {
    private var result: Result<Value, any Error>?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result { try body() }
            done.signal()
        }
    }

    func value() throws -> Value {
        done.wait()
        defer { done.signal() }
        guard let result else { preconditionFailure("signalled before the result was stored") }
        return try result.get()
    }
}
