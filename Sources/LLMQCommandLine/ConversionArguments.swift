import ArgumentParser
import LLMQ

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

    func settings(format: ModelFile.OutputFormat? = nil) -> OutputSettings {
        OutputSettings(format: format, zstdLevel: zstd, llama2cVersion: l2cVersion, llama2cGroupSize: l2cGroup)
    }

    /// `--zstd` may stand alone; ArgumentParser options always take a value, so supply the default.
    static func normalize(_ arguments: [String]) -> [String] {
        arguments.map { $0 == "--zstd" ? "--zstd=\(Zstd.defaultLevel)" : $0 }
    }
}

/// IN and OUT of the commands that write a model (convert, dequantize, quantize).
struct ConversionArguments: ParsableArguments {
    @Argument(help: "Input model (any format llmq reads).")
    var input: String

    @Argument(help: "Output file; its extension picks the format: .bin llama2.c, .llmq/.q4/.q8 llmq container, .gguf, .safetensors.")
    var output: String

    @OptionGroup var out: OutputOptions

    /// The line on stderr after writing.
    static func note(_ r: ConversionResult) {
        var line = "wrote \(r.output): \(r.format), \(r.tensorCount) tensors, \(Format.bytes(r.outputBytes))"
        if r.inputBytes > 0 {
            line += " from \(Format.bytes(r.inputBytes)) in \(Format.fixed(r.seconds, 2)) s"
            line += " (\(Format.fixed(r.megabytesPerSecond, 0)) MB/s of input)"
        }
        Terminal.note(line)
    }
}
