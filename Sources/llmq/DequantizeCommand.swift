import ArgumentParser
import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant

struct DequantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dequantize",
        abstract: "Expand every tensor of a model to fp32 (a container or a llama2.c .bin, by OUT's extension).",
        discussion: "Streams tensor by tensor: memory stays near one fp32 tensor."
    )

    @Argument(help: "Input model (any format llmq reads).")
    var input: String

    @Argument(help: "Output file (.llmq or .bin).")
    var output: String

    @OptionGroup var out: OutputOptions

    func run() throws {
        let start = ContinuousClock.now
        let model = try ModelFile.openWithTokenizer(input, tokenizerPath: out.z)
        let expanded = try Dequantize.fp32View(of: model)
        let parameters = out.parameters.merging(["type": "f32"]) { a, _ in a }
        let progress = Progress("dequantize")
        try ModelFile.write(expanded, to: output,
                            options: out.writeOptions { _ in try provenance("dequantize", parameters, source: model) }) { progress.update($0, $1) }
        progress.finish()
        try reportWritten(output, from: model, seconds: (ContinuousClock.now - start).seconds)
    }
}
