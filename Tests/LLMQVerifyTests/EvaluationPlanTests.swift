import LLMQCore
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

    @Test("too little text, a tiny context or zero chunks are usage errors")
    func planErrors() {
        #expect(throws: LLMQError.self) { try EvaluationPlan(tokenCount: 100, contextLength: 256, bosID: 1) }
        #expect(throws: LLMQError.self) { try EvaluationPlan(tokenCount: 100, contextLength: 2, bosID: 1) }
        #expect(throws: LLMQError.self) { try EvaluationPlan(tokenCount: 1000, contextLength: 64, maxChunks: 0, bosID: 1) }
    }

}
