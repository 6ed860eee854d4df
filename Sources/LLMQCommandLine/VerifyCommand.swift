import ArgumentParser
import LLMQ

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
        var request = VerifyRequest(reference: reference, candidate: candidate, text: options.text.map(TextInput.file),
                                    gates: Gates(maxKLD: maxKld, maxPPLIncreasePercent: maxPplIncrease, minTop1Percent: minTop1))
        request.tokenizer = options.z
        request.evaluation = options.settings
        request.simulate = simulate
        request.saveReference = saveReference
        request.referenceMaxKept = referenceMaxKept
        request.referenceTailMass = referenceTail
        request.referenceTailSampleRate = referenceSampleRate
        let report = try Terminal.withProgress { try LLMQ.verify(request, progress: $0) }
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
}
