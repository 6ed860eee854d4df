import ArgumentParser
import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant
import LLMQVerify

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

    static let defaultContext = 512

    func validate() throws {
        if options.scoreAll { throw ValidationError("calibrate always uses every position; --score-all does not apply") }
        if sensitivityChunks < 1 { throw ValidationError("--sensitivity-chunks must be ≥ 1") }
        if sensitivityCtx < 4 { throw ValidationError("--sensitivity-ctx must be ≥ 4") }
        if BitAllocation.Granularity(rawValue: sensitivityBy) == nil { throw ValidationError("--sensitivity-by is block or tensor") }
    }

    func run() throws {
        let (loaded, tokenizer) = try options.open(model)
        let tokens = try options.tokens(tokenizer)
        let plan = try EvaluationPlan(tokenCount: tokens.count, contextLength: options.ctx ?? min(Self.defaultContext, loaded.config.contextLength),
                                      maxChunks: options.chunks, scoreAll: true, bosID: tokenizer.bosID)
        let pool = options.makePool()
        let runner = try ChunkRunner(model: loaded, plan: plan, batchSize: options.batch, pool: pool)
        let start = ContinuousClock.now
        let progress = Progress("calibrate")
        var matrix = Calibration.collect(runner, tokens: tokens, plan: plan, datasets: [options.text ?? ""]) {
            progress.update($0, plan.chunkCount)
        }
        progress.finish()
        var measuredUnits = 0
        if sensitivity {
            let probePlan = try EvaluationPlan(tokenCount: tokens.count, contextLength: min(sensitivityCtx, loaded.config.contextLength),
                                               maxChunks: sensitivityChunks, scoreAll: true, bosID: tokenizer.bosID)
            let recipe = try BitAllocation.measurementRecipe()
            let quantized = try Quantizer.view(of: loaded, plan: recipe.plan(for: loaded), importance: matrix)
            let granularity = BitAllocation.Granularity(rawValue: sensitivityBy) ?? .block
            let units = Dictionary(grouping: loaded.tensors.filter { $0.shape.count == 2 }) { BitAllocation.unit(of: $0.name, granularity) }
                .compactMap { unit, tensors in unit.map { _ in tensors } }.sorted { $0[0].name < $1[0].name }
            let measuring = Progress("sensitivity")
            let values = try Sensitivity.measure(source: loaded, quantized: quantized, units: units.map { $0.map(\.name) }, tokens: tokens,
                                                 plan: probePlan, batchSize: options.batch, pool: pool) { measuring.update($0, units.count) }
            measuring.finish()
            matrix.sensitivities = BitAllocation.apportion(values, units: units)
            measuredUnits = units.count
        }
        try ImatrixFile.write(matrix, to: output, refusingToOverwrite: [model] + [options.text, options.z].compactMap { $0 })
        let seconds = (ContinuousClock.now - start).seconds
        let positions = plan.chunkCount * plan.evaluatedPerChunk
        print("wrote \(output): \(matrix.entries.count) matrices, \(plan.chunkCount) chunks of \(plan.contextLength) tokens "
              + "(\(positions) positions)" + (sensitivity ? ", sensitivities of \(measuredUnits) units" : "")
              + " in \(Format.fixed(seconds, 1)) s")
    }
}
