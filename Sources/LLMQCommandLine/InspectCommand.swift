import ArgumentParser
import Foundation
import LLMQCore
import LLMQFormats

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a model file's format, config and every tensor with its byte range.",
        discussion: "With --check, verify the file's integrity instead (every checksum, the layout, zero padding) without running it; exit code 2 names every bad place."
    )

    @Argument(help: "Model file (llama2.c .bin, llmq container, GGUF, .safetensors) or Hugging Face model directory.")
    var file: String

    @Flag(help: "Print a machine-readable JSON report.")
    var json = false

    @Flag(help: "Verify every byte against the file's checksums and structure; exit 2 on any problem.")
    var check = false

    func run() throws {
        if check { return try runCheck() }
        var container: ContainerFile?
        let model: Model
        if try ModelFile.detect(file) == .llmq {
            let opened = try LLMQContainerReader.open(path: file)
            container = opened
            model = opened.model
        } else {
            model = try ModelFile.open(file)
        }
        let report = ModelReport(model)
        if json {
            try Terminal.json(InspectJSON(report: report, container: container.map(ContainerJSON.init)))
        } else {
            print(render(report))
            if let container { print(RecipeTable.render(container.metadata.quantization, tensors: container.model.tensors)) }
        }
    }

    func runCheck() throws {
        let report = ModelFile.check(file)
        if json {
            try Terminal.json(report)
        } else {
            print("\(report.path): \(report.format)")
            for item in report.verified { print("  checked: \(item)") }
            for problem in report.problems { print("  BAD \(problem.description)") }
            print(report.ok ? "integrity: ok" : "integrity: \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")")
        }
        if !report.ok {
            let first = report.problems[0]
            throw LLMQError(.integrity, "integrity check failed (\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")); first: \(first.description)", file: file)
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
            let padding = r.regions.filter { $0.name.hasPrefix("padding") }
            for g in r.regions where !g.name.hasPrefix("padding") {
                out += "  \(g.name): \(g.length) bytes at \(g.offset)..<\(g.offset + g.length)\n"
            }
            if !padding.isEmpty {
                out += "  padding (zeros for alignment): \(padding.reduce(0) { $0 + $1.length }) bytes in \(padding.count) gaps\n"
            }
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

/// `inspect --json`: the generic report, plus the container's own structures when it is one.
struct InspectJSON: Encodable {
    var report: ModelReport
    var container: ContainerJSON?

    enum Keys: String, CodingKey { case container }

    func encode(to encoder: Encoder) throws {
        try report.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encodeIfPresent(container, forKey: .container)
    }
}

struct ContainerJSON: Encodable {
    var alignment: Int
    var sections: [Region]
    var compressedTensors: Int
    var metadata: ContainerMetadata

    init(_ c: ContainerFile) {
        alignment = c.header.alignment
        sections = [Region(name: "tensor table", offset: c.header.table.offset, length: c.header.table.length),
                    Region(name: "tokenizer", offset: c.header.tokenizer.offset, length: c.header.tokenizer.length),
                    Region(name: "metadata", offset: c.header.metadata.offset, length: c.header.metadata.length)]
        compressedTensors = c.entries.filter { $0.compression == .zstd }.count
        metadata = c.metadata
    }
}
