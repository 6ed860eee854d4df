import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import LLMQVerify
import Testing

@Suite("perplexity")
struct PerplexityTests {
    /// golden/data/SOURCES.md: llama.cpp's llama-perplexity on stories260K.gguf with this file,
    /// -c 256: 393 chunks, PPL = 6.0481 ± 0.0707. The same GGUF here, tokenized with its own
    /// vocabulary as llama.cpp does. (-c 512 gives 6.3033 ± 0.0747 here as there; it takes twice as
    /// long, see docs/verification.md.)
    @Test("stories260K.gguf on the TinyStories sample at -c 256 reproduces llama.cpp's 6.0481 ± 0.0707 over 393 chunks")
    func llamaCppFigure() throws {
        let model = try ModelFile.open(Fixtures.stories260KGGUF)
        let tokens = try Harness.tokens(model)
        #expect(tokens == (try Harness.tokens(try Harness.stories260K())), "GGUF vocabulary and tok512.bin tokenize alike")
        let plan = try EvaluationPlan(tokenCount: tokens.count, contextLength: 256, bosID: 1)
        let result = Perplexity.evaluate(try Harness.runner(model, plan), tokens: tokens, plan: plan)
        #expect(plan.chunkCount == 393)
        #expect(result.scoredTokens == 393 * 127)
        #expect(abs(result.perplexity.value - 6.0481) < 0.00005, "PPL \(result.perplexity.value)")
        #expect(abs(result.perplexity.uncertainty - 0.0707) < 0.00005, "± \(result.perplexity.uncertainty)")
    }

    @Test("token by token, blocks of 7 and whole chunks give the same perplexity", arguments: [false, true])
    func batchSizes(scoreAll: Bool) throws {
        let model = try Harness.stories260K()
        let tokens = try Harness.tokens(model)
        let plan = try Harness.plan(tokens, ctx: 96, chunks: 3, scoreAll: scoreAll)
        let results = try [1, 7, 0].map { Perplexity.evaluate(try Harness.runner(model, plan, batch: $0), tokens: tokens, plan: plan) }
        #expect(results.map(\.batchSize) == [1, 7, 95])
        for r in results {
            #expect(r.scoredTokens == (scoreAll ? 3 * 95 : 3 * 47))
            #expect(Harness.close(r.meanNLL.value, results[0].meanNLL.value, relative: 1e-6))
            #expect(Harness.close(r.perplexity.uncertainty, results[0].perplexity.uncertainty, relative: 1e-5))
        }
    }

    @Test("a context longer than the model's is refused")
    func contextTooLong() throws {
        let model = try Harness.stories260K()
        let plan = try EvaluationPlan(tokenCount: 5000, contextLength: 1024, bosID: 1)
        #expect(throws: LLMQError.self) { try Harness.runner(model, plan) }
    }
}
