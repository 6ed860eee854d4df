import ArgumentParser
import Foundation
import LLMQ

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure how much each weight matters on calibration text: an importance matrix for quantize --imatrix.",
        discussion: """
            Runs the model (use the fp32 original) over the text in chunks of --ctx tokens (default 512) and \
            records, for every weight matrix, the mean squared value of each input channel — llama.cpp's imatrix, \
            written in its GGUF format (formats/imatrix.md). Every position of every chunk counts.
            """
    )

    @Argument(help: "Model file (fp32 or f16 for faithful statistics).")
    var model: String

    @OptionGroup var options: EvaluationOptions

    @Option(name: .shortAndLong, help: ArgumentHelp("Importance matrix to write.", valueName: "file"))
    var output: String

    @Flag(help: "Also measure each unit's sensitivity (the mean KL divergence when it alone is q4_0) for quantize --target-bpw.")
    var sensitivity = false

    @Option(help: "Chunks of the text the sensitivity is measured on (each unit runs them once)…")
    var sensitivityChunks = 1

    @Option(help: "…of this many tokens, every prediction scored.")
    var sensitivityCtx = 256

    @Option(help: "Measure a layer's attention and feed-forward matrices together (block) or every matrix alone (tensor: one pass per matrix).")
    var sensitivityBy = BitAllocation.Granularity.block.rawValue

    @Flag(help: "Print the summary (coverage and its warnings included) as JSON.")
    var json = false

    func validate() throws {
        if options.scoreAll { throw ValidationError("calibrate always uses every position; --score-all does not apply") }
        if sensitivityChunks < 1 { throw ValidationError("--sensitivity-chunks must be ≥ 1") }
        if sensitivityCtx < 4 { throw ValidationError("--sensitivity-ctx must be ≥ 4") }
        if BitAllocation.Granularity(rawValue: sensitivityBy) == nil { throw ValidationError("--sensitivity-by is block or tensor") }
    }

    func run() throws {
        var request = CalibrateRequest(model: model, text: try options.requiredText(), output: output)
        request.tokenizer = options.z
        request.evaluation = options.settings
        if sensitivity {
            request.sensitivity = SensitivitySettings(chunks: sensitivityChunks, contextLength: sensitivityCtx,
                                                      granularity: BitAllocation.Granularity(rawValue: sensitivityBy) ?? .block)
        }
        let r = try Terminal.withProgress { try LLMQ.calibrate(request, progress: $0) }
        if json {
            try Terminal.json(Summary(r))
            return
        }
        for w in r.coverage.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        print("wrote \(output): \(r.importance.entries.count) matrices, \(r.chunkCount) chunks of \(r.contextLength) tokens "
              + "(\(r.positions) positions)" + (r.sensitivityUnits.map { ", sensitivities of \($0) units" } ?? "")
              + ", \(r.coverage.distinctTokens) distinct tokens in \(Format.fixed(r.seconds, 1)) s")
    }

    /// The result without the matrix itself (that is the output file).
    struct Summary: Encodable {
        var output: String?
        var matrices: Int
        var chunkCount: Int
        var contextLength: Int
        var sensitivityUnits: Int?
        var coverage: CalibrationCoverage
        var seconds: Double

        init(_ r: CalibrateResult) {
            output = r.output
            matrices = r.importance.entries.count
            chunkCount = r.chunkCount
            contextLength = r.contextLength
            sensitivityUnits = r.sensitivityUnits
            coverage = r.coverage
            seconds = r.seconds
        }
    }
}
