import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import LLMQVerify
import Testing

/// The evaluation plan: llama.cpp's chunking and scoring. (The statistics are checked against an
/// independent numpy implementation in VerificationTests.)
@Suite("evaluation plan")
struct EvaluationPlanTests {
    @Test("chunks hold whole contexts, BOS replaces each first token, the second half is scored")
    func plan() throws {
        let tokens = Array(100..<1100)
        let plan = try EvaluationPlan(tokenCount: tokens.count, contextLength: 256, bosID: 1)
        #expect(plan.chunkCount == 3)
        #expect(plan.firstScored == 128)
        #expect(plan.scoredPerChunk == 127)
        #expect(plan.scoredTotal == 381)
        #expect(plan.evaluatedPerChunk == 255)
        let chunk = plan.chunk(1, of: tokens)
        #expect(chunk.count == 256 && chunk[0] == 1 && chunk[1] == 357 && chunk[255] == 611)
        #expect(plan.protocolDescription.contains("second half"))

        let all = try EvaluationPlan(tokenCount: tokens.count, contextLength: 256, maxChunks: 2, scoreAll: true, bosID: 1)
        #expect(all.chunkCount == 2 && all.firstScored == 0 && all.scoredTotal == 510)
        #expect(all.protocolDescription.contains("every prediction"))
    }

    @Test("without BOS (a vocabulary that adds none) chunks run as the text has them")
    func planWithoutBOS() throws {
        let tokens = Array(100..<1100)
        let plan = try EvaluationPlan(tokenCount: tokens.count, contextLength: 256, bosID: nil)
        #expect(plan.chunk(0, of: tokens) == Array(100..<356) && plan.chunk(2, of: tokens)[0] == 612)
        #expect(plan.scoredTotal == 381 && plan.protocolDescription.contains("no BOS"))
    }

    @Test("EvaluationTokens follows the vocabulary: BOS first and at every chunk start only when it adds BOS")
    func tokensFollowTheVocabulary() throws {
        let model = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
        var vocabulary = try #require(model.tokenizer)
        let text = String(repeating: "Once upon a time there was a cat. ", count: 40)
        let with = EvaluationTokens(text: text, tokenizer: try Tokenizers.make(vocabulary))
        #expect(with.bosID == 1 && with.tokens.first == 1)
        let plan = try with.plan(contextLength: 64, maxChunks: 2)
        #expect(plan.bosID == 1 && plan.chunk(1, of: with.tokens)[0] == 1)

        vocabulary.addBOS = false
        let without = EvaluationTokens(text: text, tokenizer: try Tokenizers.make(vocabulary))
        #expect(without.bosID == nil && without.tokens == Array(with.tokens.dropFirst()))
        let bare = try without.plan(contextLength: 64, maxChunks: 2)
        #expect(bare.bosID == nil && bare.chunk(1, of: without.tokens) == Array(without.tokens[64..<128]))
    }

    @Test("too little text, a tiny context or zero chunks are usage errors")
    func planErrors() {
        #expect(throws: LLMQError.self) { try EvaluationPlan(tokenCount: 100, contextLength: 256, bosID: 1) }
        #expect(throws: LLMQError.self) { try EvaluationPlan(tokenCount: 100, contextLength: 2, bosID: 1) }
        #expect(throws: LLMQError.self) { try EvaluationPlan(tokenCount: 1000, contextLength: 64, maxChunks: 0, bosID: 1) }
    }

}
