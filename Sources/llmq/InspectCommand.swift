import ArgumentParser
import Foundation
import LLMQCore
import LLMQFormats

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model file's format, config and every tensor with its byte range."
    )

    @Argument(help: "Model file (llama2.c .bin, GGUF, .safetensors) or Hugging Face model directory.")
    var file: String

    @Flag(help: "Print a machine-readable JSON report.")
    var json = false

    func run() throws {
        let model = try ModelFile.open(file)
        let report = ModelReport(model)
        if json {
            try Terminal.json(report)
        } else {
            print(render(report))
        }
    }

    func render(_ r: ModelReport) -> String {
        let c = r.config
        var out = "\(r.path): \(r.format), \(Format.bytes(r.fileBytes)) (\(r.fileBytes) bytes)\n"
        out += "config: dim \(c.dim), hidden \(c.hiddenDim), layers \(c.layerCount), heads \(c.headCount) (kv \(c.kvHeadCount)), "
        out += "head dim \(c.headDim), vocab \(c.vocabSize), context \(c.contextLength), rope base \(c.ropeTheta), "
        out += "norm eps \(c.normEpsilon), classifier \(c.sharedClassifier ? "shared with embedding" : "separate")\n"
        if let t = r.tokenizer {
            out += "tokenizer: \(t.kind), \(t.tokens) tokens\(t.merges > 0 ? ", \(t.merges) merges" : ""), bos \(t.bos), eos \(t.eos)\n"
        }
        if !r.metadata.isEmpty {
            out += "metadata:\n"
            for key in r.metadata.keys.sorted() { out += "  \(key) = \(r.metadata[key]!)\n" }
        }
        let compressed = r.tensors.contains { $0.storedBytes != $0.bytes }
        var table = TextTable(header: ["tensor", "shape", "dtype", "elements", "bytes"] + (compressed ? ["stored"] : []) + ["offset", "end"] + (r.files.count > 1 ? ["file"] : []))
        table.rightAligned = Set(3..<table.header.count)
        for t in r.tensors {
            var row = [t.name, t.shape.map(String.init).joined(separator: "×"), t.dtype + (t.encoding.map { "+\($0)" } ?? ""),
                       "\(t.elements)", "\(t.bytes)"]
            if compressed { row.append("\(t.storedBytes)") }
            row += ["\(t.offset)", "\(t.end)"]
            if r.files.count > 1 { row.append("\(t.file)") }
            table.add(row)
        }
        out += table.render() + "\n"
        if !r.regions.isEmpty {
            out += "other regions:\n"
            for g in r.regions { out += "  \(g.name): \(g.length) bytes at \(g.offset)..<\(g.offset + g.length)\n" }
        }
        let t = r.totals
        let mix = t.byDType.sorted { $0.value > $1.value }.map { "\($0.key) \(Format.count($0.value))" }.joined(separator: ", ")
        out += "totals: \(Format.count(t.parameters)) parameters (\(mix)); tensor data \(Format.bytes(t.storedTensorBytes))"
        if t.storedTensorBytes != t.tensorBytes { out += " stored, \(Format.bytes(t.tensorBytes)) raw" }
        out += "; \(Format.fixed(t.bitsPerWeight, 3)) bits per weight\n"
        out += "bytes: \(t.storedTensorBytes) tensor + \(t.otherBytes) other = \(t.accountedBytes) of \(r.fileBytes) in the file"
        out += t.accountedBytes == r.fileBytes ? " (all accounted for)" : " (\(r.fileBytes - t.accountedBytes) unaccounted)"
        return out
    }
}
