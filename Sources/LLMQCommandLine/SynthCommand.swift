import ArgumentParser
import Foundation
import LLMQCore
import LLMQFormats

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a deterministic random llama2.c checkpoint (and tokenizer) of a real model's shape.",
        discussion: "Shapes: \(SyntheticModel.shapes.map(\.name).joined(separator: ", ")). Any field can be overridden."
    )

    @Argument(help: "Output checkpoint (.bin).")
    var output: String

    @Option(help: "Base shape.")
    var shape: String = "stories260K"

    @Option(help: "Random seed.")
    var seed: UInt64 = 42

    @Option(help: "llama2.c version to write: 0 (legacy), 1 (fp32), 2 (int8).")
    var version: Int = 0

    @Option(help: "Also write the tokenizer (llama2.c tokenizer.bin) here.")
    var tokenizer: String?

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
        try Llama2CWriter.write(model, to: output, version: version) { progress.update($0, $1) }
        progress.finish()
        if let tokenizer, let data = model.tokenizer {
            try Llama2CTokenizerFile.write(data, to: tokenizer)
        }
        Terminal.note("wrote \(output): \(base.name)-shaped, \(Format.count(model.parameterCount)) parameters, seed \(seed)")
    }
}
