import ArgumentParser
import LLMQCore

struct DequantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dequantize",
        abstract: "Expand every tensor of a model to fp32 (a container or a llama2.c .bin, by OUT's extension).",
        discussion: "Streams tensor by tensor: memory stays near one fp32 tensor."
    )

    @OptionGroup var files: ConversionArguments

    func run() throws {
        let model = try files.openInput()
        try files.write(try Dequantize.fp32View(of: model), source: model, command: "dequantize", parameters: ["type": "f32"])
    }
}
