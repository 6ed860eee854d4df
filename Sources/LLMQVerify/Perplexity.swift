#if canImport(Glibc)
import Glibc
#endif
import LLMQEngine

/// A model's perplexity over a token stream, with llama.cpp's uncertainty: PPL = exp(mean NLL),
/// ± PPL · √(var(NLL) / (n − 1)).
public struct PerplexityResult: Codable, Sendable {
    public var plan: EvaluationPlan
    /// Which predictions count, in words.
    public var scoring: String
    public var scoredTokens: Int
    /// Positions run through the model (chunks × (context − 1)).
    public var evaluatedTokens: Int
    public var meanNLL: Estimate
    public var perplexity: Estimate
    /// Positions per forward pass (1: token by token).
    public var batchSize: Int
    public var seconds: Double
    public var tokensPerSecond: Double

    init(plan: EvaluationPlan, nlls: [Double], batchSize: Int, seconds: Double) {
        self.plan = plan
        scoring = plan.protocolDescription
        scoredTokens = nlls.count
        evaluatedTokens = plan.chunkCount * plan.evaluatedPerChunk
        meanNLL = Stats.meanEstimate(nlls)
        perplexity = PerplexityResult.perplexity(meanNLL)
        self.batchSize = batchSize
        self.seconds = seconds
        tokensPerSecond = seconds > 0 ? Double(evaluatedTokens) / seconds : 0
    }

    /// exp of a mean NLL, its uncertainty propagated to first order.
    static func perplexity(_ nll: Estimate) -> Estimate {
        let ppl = exp(nll.value)
        return Estimate(ppl, ppl * nll.uncertainty)
    }
}

public enum Perplexity {
    /// Scores `tokens` (the whole tokenized text, `EvaluationTokens`) as `plan` says.
    public static func evaluate(_ runner: ChunkRunner, tokens: [Int], plan: EvaluationPlan) -> PerplexityResult {
        evaluate(runner, tokens: tokens, plan: plan) { _ in }
    }

    /// - Parameter progress: called with the number of chunks done; what it throws ends the run.
    public static func evaluate(_ runner: ChunkRunner, tokens: [Int], plan: EvaluationPlan,
                                progress: (Int) throws -> Void) rethrows -> PerplexityResult {
        let start = ContinuousClock.now
        var nlls = [Double](repeating: 0, count: plan.scoredTotal)
        let vocab = runner.vocabSize
        for c in 0..<plan.chunkCount {
            let chunk = plan.chunk(c, of: tokens)
            for block in runner.blocks(plan) {
                let logits = runner.run(chunk, block)
                guard block.isScored else { continue }
                let first = block.positions.lowerBound
                nlls.withUnsafeMutableBufferPointer { out in
                    runner.pool.parallelFor(block.positions.count, grain: max(1, 65536 / vocab)) { rows in
                        for i in rows {
                            let row = LogitRow(logits.baseAddress! + i * vocab, count: vocab)
                            out[c * plan.scoredPerChunk + first + i - plan.firstScored] = -row.logProb(chunk[first + i + 1])
                        }
                    }
                }
            }
            try progress(c + 1)
        }
        return PerplexityResult(plan: plan, nlls: nlls, batchSize: runner.batchSize, seconds: seconds(since: start))
    }
}
