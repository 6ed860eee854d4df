import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import LLMQVerify

/// The pieces every verification test needs: stories260K with its tokenizer, the TinyStories sample
/// tokenized, and comparisons run through the library as `llmq verify` runs them.
enum Harness {
    static func stories260K() throws -> Model {
        try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
    }

    static func tokens(_ model: Model) throws -> [Int] {
        let text = try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8)
        return try Tokenizers.make(model.tokenizer!).encode(text, bos: true, eos: false)
    }

    static func runner(_ model: Model, _ plan: EvaluationPlan, batch: Int? = nil, simulate: Bool = false) throws -> ChunkRunner {
        try ChunkRunner(model: model, plan: plan, batchSize: batch, simulate: simulate)
    }

    static func plan(_ tokens: [Int], ctx: Int, chunks: Int, scoreAll: Bool = false) throws -> EvaluationPlan {
        try EvaluationPlan(tokenCount: tokens.count, contextLength: ctx, maxChunks: chunks, scoreAll: scoreAll, bosID: 1)
    }

    static func compare(_ reference: Model, _ candidate: Model, ctx: Int, chunks: Int, scoreAll: Bool = false,
                        simulate: Bool = false, save: String? = nil) throws -> LogitComparison {
        let tokens = try Self.tokens(reference)
        let plan = try Self.plan(tokens, ctx: ctx, chunks: chunks, scoreAll: scoreAll)
        let writer = try save.map { path in
            try ReferenceLogitsWriter(path: path, header: SavedReference.Header(plan: plan, model: reference,
                                                                                tokenizer: Tokenizers.make(reference.tokenizer!), text: nil),
                                      tokens: tokens, refusingToOverwrite: [])
        }
        let result = try Verification.compare(reference: .model(runner(reference, plan)), candidate: runner(candidate, plan, simulate: simulate),
                                              tokens: tokens, plan: plan, save: writer)
        try writer?.commit()
        return result
    }

    /// |a − b| ≤ absolute + relative·|b|.
    static func close(_ a: Double, _ b: Double, relative: Double, absolute: Double = 0) -> Bool {
        abs(a - b) <= absolute + relative * abs(b)
    }
}
