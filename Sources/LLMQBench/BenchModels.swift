#if canImport(Glibc)
import Glibc
#endif
import LLMQCore
import LLMQFormats
import LLMQQuant

/// The model files a benchmark runs on. For a synthetic shape they are written once into a
/// scratch directory and reused: the fp32 checkpoint `llmq synth` would write (with its tokenizer
/// beside it), and its quantized containers as `llmq quantize` writes them.
public struct BenchModels: Sendable {
    public struct Entry: Sendable {
        /// What the table calls it: "f32", "q8_0", "q4_0 (q8_0 classifier)", …
        public var label: String
        public var path: String
    }

    public var entries: [Entry]
    /// The fp32 input of the quantize benchmark (the first file for real models).
    public var quantizeInput: String
    public var description: String

    /// Recipes of the synthetic set: the default one per type, and 4-bit everywhere.
    static let variants: [(label: String, file: String, type: String, rules: [String])] = [
        ("q8_0", "model.q8_0.llmq", "q8_0", []),
        ("q4_0 (q8_0 classifier)", "model.q4_0.llmq", "q4_0", []),
        ("q4_0 (all matrices)", "model.q4_0-all.llmq", "q4_0", ["token_embd|output=q4_0"]),
    ]

    /// Real files, benchmarked as they are.
    public static func files(_ paths: [String]) -> BenchModels {
        BenchModels(entries: paths.map { Entry(label: $0.split(separator: "/").last.map(String.init) ?? $0, path: $0) },
                    quantizeInput: paths.first ?? "", description: paths.joined(separator: ", "))
    }

    /// Synthetic models of `shape` (see `SyntheticModel.shapes`) under `directory`, written on first use.
    public static func synthetic(shape name: String, seed: UInt64, directory: String,
                                 note: (String) -> Void) throws -> BenchModels {
        guard let shape = SyntheticModel.shape(named: name) else {
            throw LLMQError(.usage, "unknown shape \(name); choose one of \(SyntheticModel.shapes.map(\.name).joined(separator: ", "))")
        }
        let dir = directory + "/\(shape.name)-seed\(seed)"
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST, mkdir(dir, 0o755) == 0 || errno == EEXIST else {
            throw LLMQError(.io, "cannot create the scratch directory: \(String(cString: strerror(errno)))", file: dir)
        }
        let f32 = dir + "/model.f32.bin"
        if !exists(f32) {
            note("writing \(f32) (synthetic \(shape.name), seed \(seed))")
            let model = try SyntheticModel.make(config: shape.config, seed: seed, name: shape.name)
            try Llama2CWriter.write(model, to: f32, version: 0)
            if let tokenizer = model.tokenizer { try Llama2CTokenizerFile.write(tokenizer, to: dir + "/tokenizer.bin") }
        }
        var entries = [Entry(label: "f32", path: f32)]
        for v in variants {
            let path = dir + "/" + v.file
            if !exists(path) {
                note("writing \(path)")
                let source = try ModelFile.openWithTokenizer(f32, tokenizerPath: nil)
                let plan = try QuantizationRecipe(type: v.type, rules: v.rules).plan(for: source)
                try ModelFile.write(try Quantizer.view(of: source, plan: plan), to: path)
            }
            entries.append(Entry(label: v.label, path: path))
        }
        return BenchModels(entries: entries, quantizeInput: f32, description: "\(shape.name) (synthetic, seed \(seed), \(dir))")
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
}
