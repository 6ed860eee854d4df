import ArgumentParser
import Foundation
import LLMQCore
import LLMQEngine
import LLMQVerify

struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Score a text with a model: perplexity ± its uncertainty, as llama.cpp's llama-perplexity.",
        discussion: """
            The text is tokenized once (BOS first) and cut into chunks of --ctx tokens; each chunk starts \
            with BOS and is evaluated from an empty cache. By default only the second half of each chunk \
            is scored (llama.cpp's protocol); --score-all scores every prediction.
            """
    )

    @Argument(help: "Model file.")
    var model: String

    @OptionGroup var options: EvaluationOptions

    @Flag(help: "Print a machine-readable JSON report.")
    var json = false

    struct Report: Encodable {
        var model: String
        var format: String
        var text: String
        var textTokens: Int
        var result: PerplexityResult
    }

    func run() throws {
        let (loaded, tokenizer) = try options.open(model)
        let tokens = try options.tokens(tokenizer)
        let plan = try options.plan(tokens, model: loaded, tokenizer: tokenizer)
        let runner = try ChunkRunner(model: loaded, plan: plan, batchSize: options.batch, pool: options.makePool())
        let progress = Progress("perplexity")
        let result = Perplexity.evaluate(runner, tokens: tokens, plan: plan) { progress.update($0, plan.chunkCount) }
        progress.finish()
        let report = Report(model: model, format: loaded.format.description, text: options.text ?? "", textTokens: tokens.count, result: result)
        if json {
            try Terminal.json(report)
        } else {
            print(render(report))
        }
    }

    func render(_ r: Report) -> String {
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
