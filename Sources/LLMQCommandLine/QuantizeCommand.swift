import ArgumentParser
import Foundation
import LLMQ

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize a model's weight matrices to int8/int4 blocks and write a self-contained file (an llmq container, or GGUF).",
        discussion: """
            The type defaults from OUT's extension (.q8 → q8_0, .q4 → q4_0). Norms stay f32; the classifier gets q8_0 under \
            a 4-bit type; a matrix whose rows are not whole blocks falls back to a smaller group, else f16 — each decision \
            is recorded in the file with its reason. Streams tensor by tensor (memory near the largest tensor), writes \
            atomically and never over the input.
            """
    )

    @OptionGroup var files: ConversionArguments

    @Option(help: "Base type, one of \(QuantizationRecipe.writableTypes), or llama.cpp's mix spelled as llama.cpp does (\(LlamaCppMix.allCases.map(\.rawValue).joined(separator: ", "))): its per-tensor types and file type; default from OUT's extension.")
    var type: String?

    @Option(help: "Group size (elements per block) of the base type: 32, 64, 128 or 256.")
    var group: Int?

    @Option(name: .customLong("tensor-type"), parsing: .singleValue,
            help: ArgumentHelp("Give tensors whose name matches REGEX this type; the first matching rule wins (repeatable).",
                               valueName: "REGEX=TYPE"))
    var tensorTypes: [String] = []

    @Option(help: ArgumentHelp("Named rules placed before --tensor-type's: \(RecipePreset.allCases.map(\.rawValue).joined(separator: ", ")) (docs/quantization.md).",
                               valueName: "name"))
    var preset: String?

    @Option(help: ArgumentHelp("Spend bits where measured sensitivity is highest: q8_0 for the matrices with the most measured sensitivity per bit until the file reaches this many bits per weight. Needs --imatrix from calibrate --sensitivity.",
                               valueName: "bits"))
    var targetBpw: Double?

    @Option(help: ArgumentHelp("Types --target-bpw may move matrices up to, narrowest first.", valueName: "types"))
    var targetTypes = BitAllocation.defaultLadder.map(\.description).joined(separator: ",")

    @Flag(help: "Search each block's scale (and minimum) for the least squared error instead of ggml's rounding (different bytes, smaller error).")
    var scaleSearch = false

    @Option(help: ArgumentHelp("Importance matrix from `llmq calibrate`: weight the scale search's error by each input channel's mean squared activation (implies --scale-search).",
                               valueName: "file"))
    var imatrix: String?

    @Option(help: ArgumentHelp("Round with error feedback (GPTQ): run the model over this calibration text, collect each matrix input's second moments, and let every rounding error be absorbed by the columns not yet rounded (every block type llmq encodes but f16/bf16).",
                               valueName: "text"))
    var gptq: String?

    @Option(help: "Chunks of --gptq text to collect over (default: all the text holds; fewer fit the text, not the model)…")
    var gptqChunks: Int?

    @Option(help: "…of this many tokens.")
    var gptqCtx = 512

    @Flag(help: "Smooth the activations first (needs --imatrix): rewrite the model into an equivalent one whose matrix inputs have narrower ranges — channel ranges move from the activations into the weights — so the 8-bit rounding of every integer product's input, in llama.cpp and in llmq, loses less. Still a plain Llama model.")
    var smooth = false

    @Option(help: ArgumentHelp("How much of each channel's range --smooth moves into the weights, 0…1.", valueName: "alpha"))
    var smoothAlpha = 0.5

    @Option(help: "Threads for quantizing (default: all cores).")
    var threads: Int?

    @Flag(help: "Print the summary as JSON.")
    var json = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if (gptqChunks ?? 1) < 1 || gptqCtx < 4 { throw ValidationError("--gptq-chunks must be ≥ 1 and --gptq-ctx ≥ 4") }
        if targetBpw != nil && imatrix == nil { throw ValidationError("--target-bpw needs --imatrix (from llmq calibrate --sensitivity)") }
        if smooth && imatrix == nil { throw ValidationError("--smooth needs --imatrix (from llmq calibrate)") }
        if !(0...1).contains(smoothAlpha) { throw ValidationError("--smooth-alpha must lie in 0…1") }
    }

    func request() throws -> QuantizeRequest {
        var r = QuantizeRequest(input: files.input, output: files.output)
        r.tokenizer = files.out.z
        r.settings = files.out.settings()
        if let type {
            if let mix = LlamaCppMix(llamaCppName: type) {
                r.mix = mix
            } else if let named = DType(name: type) {
                r.type = named
            } else {
                throw LLMQError(.usage, "unknown quantization type '\(type)' (\(QuantizationRecipe.writableTypes); llama.cpp's mixes \(LlamaCppMix.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
        }
        r.group = group
        r.rules = try tensorTypes.map(QuantizationRecipe.Rule.init(parsing:))
        if let preset {
            guard let named = RecipePreset(rawValue: preset) else { throw LLMQError(.usage, "unknown preset '\(preset)'") }
            r.preset = named
        }
        r.scaleSearch = scaleSearch
        r.importance = imatrix.map(ImportanceInput.file)
        r.targetBPW = targetBpw
        r.ladder = try targetTypes.split(separator: ",").map { name in
            guard let t = DType(name: String(name)) else { throw LLMQError(.usage, "--target-types: llmq cannot write '\(name)'") }
            return t
        }
        r.gptq = gptq.map { GPTQSettings(text: .file($0), chunks: gptqChunks, contextLength: gptqCtx) }
        r.smoothing = smooth ? smoothAlpha : nil
        r.threads = threads
        return r
    }

    func run() throws {
        let result = try Terminal.withProgress { try LLMQ.quantize(try request(), progress: $0) }
        ConversionArguments.note(ConversionResult(input: result.input, output: result.output, format: result.format, tensorCount: result.tensors.count,
                                                  inputBytes: result.totals.inputBytes, outputBytes: result.totals.outputBytes,
                                                  seconds: result.totals.seconds))
        if json {
            try Terminal.json(result)
        } else {
            print(RecipeTable.render(result))
            if let allocation = result.bitAllocation { print(Self.render(allocation)) }
            print(Self.totalsLine(result.totals))
        }
    }

    static func totalsLine(_ t: QuantizeResult.Totals) -> String {
        "totals: \(Format.bytes(t.inputBytes)) → \(Format.bytes(t.outputBytes)) (\(Format.fixed(Double(t.outputBytes) / Double(max(t.inputBytes, 1)) * 100, 1))%), "
            + "\(Format.count(t.parameters)) parameters at \(Format.fixed(t.bitsPerWeight, 3)) bits per weight, "
            + "\(Format.fixed(t.seconds, 2)) s (\(Format.fixed(t.megabytesPerSecond, 0)) MB/s of input)"
    }

    /// The `--target-bpw` line: how many matrices each type took, and the divergence the model expects.
    static func render(_ a: BitAllocationResult) -> String {
        let counts = a.typeCounts.map { "\($0.type) ×\($0.count)" }.joined(separator: ", ")
        return "target \(a.targetBPW) bits per weight: \(counts) of \(a.choices.count) matrices; expected KLD from the sensitivities \(String(format: "%.4f", a.expectedKLD))"
    }
}
