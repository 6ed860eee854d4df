import ArgumentParser
import LLMQFormats

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Rewrite a model in another format, keeping every tensor's dtype where the format can hold it.",
        discussion: "The output format follows OUT's extension unless --to names one. Writes atomically and never over the input."
    )

    @OptionGroup var files: ConversionArguments

    @Option(help: "Output format: \(ModelFile.OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var to: ModelFile.OutputFormat?

    func run() throws {
        let model = try files.openInput()
        try files.write(model, source: model, command: "convert", parameters: [:], format: to)
    }
}

extension ModelFile.OutputFormat: ExpressibleByArgument {}
