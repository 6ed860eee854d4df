import ArgumentParser
import Foundation
import LLMQCore
import LLMQFormats

/// Options shared by the commands that write a model file.
struct OutputOptions: ParsableArguments {
    @Option(name: .customLong("zstd"), help: ArgumentHelp("Compress each tensor of a container with zstd when that makes it smaller (--zstd alone: level \(Zstd.defaultLevel)).",
                                                          valueName: "level"))
    var zstd: Int?

    @Option(name: .customLong("l2c-version"), help: "llama2.c version for .bin outputs: 0 (legacy, run.c), 1 (fp32), 2 (int8, runq.c).")
    var l2cVersion: Int = 0

    @Option(name: .customLong("l2c-group"), help: "Group size of llama2.c version 2 outputs.")
    var l2cGroup: Int = 64

    @Option(name: .short, help: "Tokenizer to embed (llama2.c tokenizer.bin) when the input has none; default: tokenizer.bin beside the input.")
    var z: String?

    func validate() throws {
        if let zstd, !Zstd.levels.contains(zstd) { throw ValidationError("--zstd level must be in \(Zstd.levels)") }
        guard (0...2).contains(l2cVersion) else { throw ValidationError("--l2c-version must be 0, 1 or 2") }
    }

    /// Spelled out in the metadata of the file written.
    var parameters: [String: String] {
        ["zstd": zstd.map(String.init) ?? "off"]
    }

    func writeOptions(metadata: @escaping @Sendable (Model) throws -> ContainerMetadata) -> ModelFile.WriteOptions {
        var options = ModelFile.WriteOptions()
        options.llama2cVersion = l2cVersion
        options.llama2cGroupSize = l2cGroup
        options.container.zstdLevel = zstd
        options.metadata = metadata
        return options
    }

    /// `--zstd` may stand alone; ArgumentParser options always take a value, so supply the default.
    static func normalize(_ arguments: [String]) -> [String] {
        arguments.map { $0 == "--zstd" ? "--zstd=\(Zstd.defaultLevel)" : $0 }
    }
}

/// IN and OUT of the commands that write a model (convert, dequantize, quantize), and the writing.
struct ConversionArguments: ParsableArguments {
    @Argument(help: "Input model (any format llmq reads).")
    var input: String

    @Argument(help: "Output file; its extension picks the format: .bin llama2.c, .llmq/.q4/.q8 llmq container, .gguf, .safetensors.")
    var output: String

    @OptionGroup var out: OutputOptions

    /// The input with its tokenizer (`-z`, its own, or tokenizer.bin beside it).
    func openInput() throws -> Model {
        try ModelFile.openWithTokenizer(input, tokenizerPath: out.z)
    }

    /// Writes `model` (the input itself or a view of it) atomically with a progress bar, recording
    /// the command, its parameters and the input's digest; returns the seconds it took.
    @discardableResult
    func write(_ model: Model, source: Model, command: String, parameters: [String: String], format: ModelFile.OutputFormat? = nil,
               ggufFileType: UInt32? = nil, threads: Int? = nil,
               quantization: (@Sendable () -> ContainerMetadata.Quantization?)? = nil) throws -> Double {
        let start = ContinuousClock.now
        let all = out.parameters.merging(parameters) { _, new in new }
        // A container records the input's XXH64 digest, one more full read of it: take it on a
        // thread of its own while the tensors are encoded and written rather than after them.
        let digest = try ModelFile.outputFormat(for: output, explicit: format) == .llmq
            ? BackgroundResult { try ContainerMetadata.Source(of: source) } : nil
        var options = out.writeOptions { _ in
            ContainerMetadata(config: source.config, created: ContainerMetadata.Created(command: command, parameters: all),
                              source: try digest?.value() ?? ContainerMetadata.Source(of: source), quantization: quantization?(),
                              extra: Dictionary(source.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }))
        }
        if let threads { options.container.threads = threads }
        options.ggufFileType = ggufFileType
        let progress = Progress(command)
        try ModelFile.write(model, to: output, format: format, options: options) { progress.update($0, $1) }
        progress.finish()
        let seconds = (ContinuousClock.now - start).seconds
        let written = try ModelFile.open(output)
        var line = "wrote \(output): \(written.format), \(written.tensors.count) tensors, \(Format.bytes(written.totalFileBytes))"
        if source.totalFileBytes > 0 {
            line += " from \(Format.bytes(source.totalFileBytes)) in \(Format.fixed(seconds, 2)) s"
            line += " (\(Format.fixed(Double(source.totalFileBytes) / 1e6 / max(seconds, 1e-9), 0)) MB/s of input)"
        }
        Terminal.note(line)
        return seconds
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
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
