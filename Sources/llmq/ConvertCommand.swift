import ArgumentParser
import Foundation
import LLMQCore
import LLMQFormats

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Rewrite a model in another format, keeping every tensor's dtype where the format can hold it.",
        discussion: "The output format follows OUT's extension (.bin llama2.c; .llmq, .q4, .q8 container) unless --to names one. Writes atomically and never over the input."
    )

    @Argument(help: "Input model (any format llmq reads).")
    var input: String

    @Argument(help: "Output file.")
    var output: String

    @Option(help: "Output format: \(ModelFile.OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var to: ModelFile.OutputFormat?

    @OptionGroup var out: OutputOptions

    func run() throws {
        let start = ContinuousClock.now
        let model = try ModelFile.openWithTokenizer(input, tokenizerPath: out.z)
        let parameters = out.parameters
        let progress = Progress("convert")
        try ModelFile.write(model, to: output, format: to,
                            options: out.writeOptions { try provenance("convert", parameters, source: $0) }) { progress.update($0, $1) }
        progress.finish()
        try reportWritten(output, from: model, seconds: (ContinuousClock.now - start).seconds)
    }
}

extension ModelFile.OutputFormat: ExpressibleByArgument {}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
