import ArgumentParser
import Foundation
import LLMQCore
import LLMQEngine
import LLMQVerify

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Compare a candidate model's predictions with a reference's on a text; a CI gate.",
        discussion: """
            Both models score the same tokens (chunks as in `perplexity`). Reported: PPL of each, ΔPPL, \
            ln(PPL ratio), KL divergence (reference ‖ candidate), same top-1 and top-5 overlap, change of \
            the correct token's probability, and the weight error of every tensor that differs. \
            Exit code 0 when every gate holds, 1 when one fails, 2 for bad input or usage. \
            REFERENCE may be a file written by --save-reference; its tokens and settings are then used.
            """
    )

    @Argument(help: "Reference model, or a reference-logits file from --save-reference.")
    var reference: String

    @Argument(help: "Candidate model.")
    var candidate: String

    @OptionGroup var options: EvaluationOptions

    @Option(help: "Fail when the mean KL divergence exceeds this.")
    var maxKld: Double?

    @Option(help: "Fail when the candidate's PPL exceeds the reference's by more than this many percent.")
    var maxPplIncrease: Double?

    @Option(help: "Fail when the same top-1 token rate is below this many percent.")
    var minTop1: Double?

    @Flag(help: "Run the candidate on fp32 weights dequantized from it, not on its own kernels.")
    var simulate = false

    @Option(help: ArgumentHelp("Save the reference's next-token distributions (formats/reference-logits.md) for later runs without the reference model.",
                               valueName: "file"))
    var saveReference: String?

    @Option(help: "--save-reference keeps the most likely tokens until at most this probability is left outside…")
    var referenceTail = Verification.defaultTailMass

    @Option(help: "…but at most this many tokens per position…")
    var referenceMaxKept = Verification.defaultMaxKept

    @Option(help: "…and where more is left, draw this many tokens per unit of the probability left (0: none).")
    var referenceSampleRate = Verification.defaultTailSampleRate

    @Flag(help: "Print a machine-readable JSON report.")
    var json = false

    func validate() throws {
        guard referenceMaxKept >= 5 else { throw ValidationError("--reference-max-kept must be ≥ 5") }
        guard referenceTail >= 0 && referenceTail < 1 else { throw ValidationError("--reference-tail must be in [0, 1)") }
        guard (0...(1 << 20)).contains(referenceSampleRate) else { throw ValidationError("--reference-sample-rate must be in 0...1048576") }
    }

    func run() throws {
        let pool = options.makePool()
        let (candidateModel, candidateTokenizer) = try options.open(candidate)
        let referenceInput: ReferenceInput, tokens: [Int], plan: EvaluationPlan
        var referenceSide: VerifyReport.Side, referenceModel: Model?
        if SavedReference.isReferenceFile(reference) {
            let saved = try SavedReference.read(path: reference)
            try checkAgainst(saved, candidateTokenizer)
            (referenceInput, tokens, plan) = (.saved(saved), saved.tokens, saved.plan)
            referenceSide = VerifyReport.Side(path: reference, format: "saved reference logits of "
                                                 + "\(saved.header.model) (\(saved.header.modelFormat))")
        } else {
            let (model, tokenizer) = try options.open(reference)
            guard TokenizerIdentity.fingerprint(tokenizer) == TokenizerIdentity.fingerprint(candidateTokenizer) else {
                throw LLMQError(.usage, "the reference and the candidate have different tokenizers; their token ids cannot be compared",
                                file: candidate)
            }
            tokens = try options.tokens(tokenizer)
            plan = try options.plan(tokens, model: model, tokenizer: tokenizer)
            referenceInput = .model(try ChunkRunner(model: model, plan: plan, batchSize: options.batch, pool: pool))
            referenceSide = VerifyReport.Side(model: model, path: reference)
            referenceModel = model
        }
        let candidateRunner = try ChunkRunner(model: candidateModel, plan: plan, batchSize: options.batch, simulate: simulate, pool: pool)
        let writer = try referenceModel.flatMap { model in
            try saveReference.map { path in
                try ReferenceLogitsWriter(
                    path: path,
                    header: SavedReference.Header(plan: plan, model: model, tokenizer: candidateTokenizer, text: options.text,
                                                  maxKept: referenceMaxKept, tailMass: referenceTail, tailSampleRate: referenceSampleRate),
                    tokens: tokens, refusingToOverwrite: [reference, candidate] + [options.text, options.z].compactMap { $0 })
            }
        }

        let start = ContinuousClock.now
        let progress = Progress("verify")
        let comparison = try Verification.compare(reference: referenceInput, candidate: candidateRunner, tokens: tokens, plan: plan,
                                                  save: writer) { progress.update($0, plan.chunkCount) }
        progress.finish()
        try writer?.commit()
        let tensors = try referenceModel.map { try WeightComparison.compare(reference: $0, candidate: candidateModel) }
        let report = VerifyReport(
            reference: referenceSide,
            candidate: VerifyReport.Side(model: candidateModel, path: candidate,
                                         mode: simulate ? "simulated (fp32 from dequantized weights)" : "native kernels"),
            text: options.text ?? (referenceInput.savedText), plan: plan, comparison: comparison, tensors: tensors,
            gates: Gates(maxKLD: maxKld, maxPPLIncreasePercent: maxPplIncrease, minTop1Percent: minTop1),
            seconds: (ContinuousClock.now - start) / .seconds(1))
        if json {
            try Terminal.json(report)
        } else {
            print(VerifyRendering.render(report))
        }
        if let saveReference { Terminal.note("saved the reference's logits to \(saveReference)") }
        let failed = report.gates.filter { !$0.passed }
        if !failed.isEmpty {
            throw GateFailure(description: "quality gate failed: " + failed.map(\.description).joined(separator: "; "))
        }
    }

    /// With a saved reference, the run's settings come from the file; conflicting options are errors.
    private func checkAgainst(_ saved: SavedReference, _ candidateTokenizer: any Tokenizer) throws {
        let h = saved.header
        if let ctx = options.ctx, ctx != h.contextLength {
            throw LLMQError(.usage, "was saved with --ctx \(h.contextLength), not \(ctx)", file: reference)
        }
        if let chunks = options.chunks, chunks != h.chunkCount {
            throw LLMQError(.usage, "was saved with \(h.chunkCount) chunks, not \(chunks)", file: reference)
        }
        if options.scoreAll != h.scoreAll {
            throw LLMQError(.usage, "was saved \(h.scoreAll ? "with" : "without") --score-all", file: reference)
        }
        if saveReference != nil { throw LLMQError(.usage, "is already a saved reference; --save-reference needs a model", file: reference) }
        guard TokenizerIdentity.hex(TokenizerIdentity.fingerprint(candidateTokenizer)) == h.tokenizer else {
            throw LLMQError(.usage, "the candidate's tokenizer differs from the one the reference was saved with", file: candidate)
        }
        if options.text != nil {
            let tokens = try options.tokens(candidateTokenizer)
            guard Array(tokens.prefix(saved.tokens.count)) == saved.tokens else {
                throw LLMQError(.usage, "the text does not tokenize to the tokens the reference was saved with", file: options.text)
            }
        }
    }
}

extension ReferenceInput {
    var savedText: String? {
        if case .saved(let saved) = self { return saved.header.text }
        return nil
    }
}
