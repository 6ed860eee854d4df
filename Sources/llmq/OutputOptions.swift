import ArgumentParser
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

/// The provenance every written container records: the command, its parameters and the source.
func provenance(_ command: String, _ parameters: [String: String], source: Model) throws -> ContainerMetadata {
    ContainerMetadata(config: source.config, created: ContainerMetadata.Created(command: command, parameters: parameters),
                      source: try ContainerMetadata.Source(of: source),
                      extra: Dictionary(source.metadata.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }))
}

/// One line after a write: what was written, how big, how fast.
func reportWritten(_ output: String, from input: Model, seconds: Double) throws {
    let written = try ModelFile.open(output)
    let inBytes = input.totalFileBytes, outBytes = written.totalFileBytes
    var line = "wrote \(output): \(written.format), \(written.tensors.count) tensors, \(Format.bytes(outBytes))"
    if inBytes > 0 {
        line += " from \(Format.bytes(inBytes)) in \(Format.fixed(seconds, 2)) s (\(Format.fixed(Double(inBytes) / 1e6 / max(seconds, 1e-9), 0)) MB/s of input)"
    }
    Terminal.note(line)
}
