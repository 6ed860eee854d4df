import ArgumentParser
import Foundation
import LLMQCore
import LLMQFormats

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a deterministic random model of a real model's shape: a llama2.c checkpoint (and tokenizer) or a Hugging Face directory.",
        discussion: """
        Shapes: \(SyntheticModel.shapes.map(\.name).joined(separator: ", ")). Any field can be overridden. \
        Tensors are generated a few rows at a time as they are written, so memory stays small at any size.
        """
    )

    @Argument(help: "Output checkpoint (.bin), or with --hf the model directory.")
    var output: String

    @Option(help: "Base shape.")
    var shape: String = "stories260K"

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    @Option(help: "llama2.c version to write: 0 (legacy), 1 (fp32), 2 (int8).")
    var version: Int = 0

    @Option(help: "Also write the tokenizer (llama2.c tokenizer.bin) here.")
    var tokenizer: String?

    @Flag(help: "Write a Hugging Face directory (config.json, safetensors shards and their index; the tokenizer inside).")
    var hf = false

    @Option(help: "Element type of a Hugging Face directory's weights: f32, f16 or bf16.")
    var dtype: String = "bf16"

    @Option(help: "Largest shard of a Hugging Face directory, e.g. 5GB, 500MB, 2GiB (as transformers' max_shard_size).")
    var maxShardSize: String = "5GB"

    @Option var dim: Int?
    @Option var hiddenDim: Int?
    @Option var layers: Int?
    @Option var heads: Int?
    @Option var kvHeads: Int?
    @Option var vocab: Int?
    @Option var context: Int?

    func run() throws {
        guard let base = SyntheticModel.shape(named: shape) else {
            throw ValidationError("unknown shape \(shape); choose one of \(SyntheticModel.shapes.map(\.name).joined(separator: ", "))")
        }
        var c = base.config
        if let dim { c.dim = dim }
        if let hiddenDim { c.hiddenDim = hiddenDim }
        if let layers { c.layerCount = layers }
        if let heads { c.headCount = heads }
        if let kvHeads { c.kvHeadCount = kvHeads }
        if let vocab { c.vocabSize = vocab }
        if let context { c.contextLength = context }
        let model = try SyntheticModel.make(config: c, seed: seed, name: base.name)
        let progress = Progress("synth")
        if hf {
            guard let type = DType(name: dtype), [DType.f32, .f16, .bf16].contains(type) else {
                throw LLMQError(.usage, "--dtype must be f32, f16 or bf16")
            }
            guard let shardBytes = Self.parseSize(maxShardSize), shardBytes > 0 else {
                throw LLMQError(.usage, "--max-shard-size \(maxShardSize) is not a size like 5GB, 500MB or 2GiB")
            }
            try HFDirectory.write(model, to: output, floatType: type, maxShardBytes: shardBytes) { progress.update($0, $1) }
        } else {
            try Llama2CWriter.write(model, to: output, version: version) { progress.update($0, $1) }
        }
        progress.finish()
        if let tokenizer, let data = model.tokenizer {
            try Llama2CTokenizerFile.write(data, to: tokenizer)
        }
        Terminal.note("wrote \(output): \(base.name)-shaped, \(Format.count(model.parameterCount)) parameters, seed \(seed)")
    }

    /// Bytes in a size with a decimal (KB, MB, GB) or binary (KiB, MiB, GiB) unit, or none.
    static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1_000), ("MB", 1_000_000),
                                      ("GB", 1_000_000_000), ("B", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).flatMap { $0 >= 0 && $0 * Double(scale) < 1e18 ? Int($0 * Double(scale)) : nil }
        }
        return Int(text)
    }
}
