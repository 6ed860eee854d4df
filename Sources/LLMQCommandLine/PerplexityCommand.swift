import ArgumentParser
import LLMQ

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Score a text with a model: perplexity ± its uncertainty, as llama.cpp's llama-perplexity.",
        discussion: """
            The text is tokenized once (BOS first when the vocabulary adds one, as llama.cpp decides) and cut into \
            chunks of --ctx tokens; each chunk is evaluated from an empty cache, its first token replaced by BOS when \
            the vocabulary adds one. By default only the second half of each chunk is scored (llama.cpp's protocol); \
            --score-all scores every prediction.
            """
    )

    @Argument(help: "Model file.")
    var model: String

    @OptionGroup var options: EvaluationOptions

    @Flag(help: "Print a machine-readable JSON report.")
    var json = false

    func run() throws {
        var request = PerplexityRequest(model: model, text: try options.requiredText(), evaluation: options.settings)
        request.tokenizer = options.z
        let report = try Terminal.withProgress { try LLMQ.perplexity(request, progress: $0) }
        if json {
            try Terminal.json(report)
        } else {
            print(render(report))
        }
    }

    func render(_ r: PerplexityReport) -> String {
        let p = r.result
        return """
            model: \(r.model) (\(r.format))
            text: \(r.text), \(r.textTokens) tokens
            scoring: \(p.scoring)
            PPL = \(Format.fixed(p.perplexity.value, 4)) ± \(Format.fixed(p.perplexity.uncertainty, 4))   \
            (mean NLL \(Format.fixed(p.meanNLL.value, 5)) ± \(Format.fixed(p.meanNLL.uncertainty, 5)))
            speed: \(p.evaluatedTokens) tokens evaluated in \(Format.fixed(p.seconds, 2)) s, \
            \(Format.fixed(p.tokensPerSecond, 1)) tokens/s (\(p.batchSize == 1 ? "token by token" : "\(p.batchSize) positions per pass"))
            """
    }
}
