import ArgumentParser
import LLMQ

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
        let request = ConvertRequest(input: files.input, output: files.output, tokenizer: files.out.z, settings: files.out.settings(format: to))
        ConversionArguments.note(try Terminal.withProgress { try LLMQ.convert(request, progress: $0) })
    }
}

extension ModelFile.OutputFormat: ExpressibleByArgument {}
