import ArgumentParser
import LLMQ

struct DequantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dequantize",
        abstract: "Expand every tensor of a model to fp32 (a container or a llama2.c .bin, by OUT's extension).",
        discussion: "Streams tensor by tensor: memory stays near one fp32 tensor."
    )

    @OptionGroup var files: ConversionArguments

    func run() throws {
        let request = ConvertRequest(input: files.input, output: files.output, tokenizer: files.out.z, dequantize: true,
                                     settings: files.out.settings())
        ConversionArguments.note(try Terminal.withProgress { try LLMQ.convert(request, progress: $0) })
    }
}
