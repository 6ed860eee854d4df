import LLMQCore
import LLMQEngine

/// Where the reference's distributions come from.
public enum ReferenceInput {
    /// A model run alongside the candidate: exact comparisons over the whole vocabulary.
    case model(ChunkRunner)
    /// Logits saved by an earlier run (`--save-reference`): the plan and tokens come from the file.
    case saved(SavedReference)
}

public enum Verification {
    /// What a saved reference keeps per position by default: tokens until at most 1e-4 of the
    /// probability is left outside, at most 1024 of them, and where more than 1e-4 is left, tokens
    /// drawn from the rest, one per 2⁻¹⁶ of its probability (formats/reference-logits.md).
    public static let defaultMaxKept = 1024
    public static let defaultTailMass = 1e-4
    public static let defaultTailSampleRate = 65536

    /// Runs the candidate (and a live reference) over the plan's chunks, block by block, and compares
    /// every scored position. With `save`, a live reference's summaries are streamed to that file.
    /// - Parameter progress: called with the number of chunks done; what it throws ends the run.
    public static func compare(reference: ReferenceInput, candidate: ChunkRunner, tokens: [Int], plan: EvaluationPlan,
                               save: ReferenceLogitsWriter? = nil, progress: (Int) throws -> Void = { _ in }) throws -> LogitComparison {
        let vocab = candidate.vocabSize
        switch reference {
        case .model(let runner):
            guard runner.vocabSize == vocab else {
                throw LLMQError(.usage, "the reference has \(runner.vocabSize) tokens and the candidate \(vocab); they cannot be compared")
            }
            guard runner.batchSize == candidate.batchSize else {
                throw LLMQError(.usage, "reference and candidate must run in blocks of the same size")
            }
        case .saved(let saved):
            guard saved.header.vocabSize == vocab else {
                throw LLMQError(.usage, "the saved reference has \(saved.header.vocabSize) tokens and the candidate \(vocab)", file: saved.path)
            }
            guard save == nil else { throw LLMQError(.usage, "a saved reference cannot be saved again", file: saved.path) }
            guard plan == saved.plan, tokens.count >= saved.tokens.count, Array(tokens.prefix(saved.tokens.count)) == saved.tokens else {
                throw LLMQError(.usage, "the tokens or settings differ from those the reference was saved with", file: saved.path)
            }
        }
        var samples = [TokenSample](repeating: TokenSample(), count: plan.scoredTotal)
        var summaries: [ReferenceSummary?] = []
        for c in 0..<plan.chunkCount {
            let chunk = plan.chunk(c, of: tokens)
            for block in candidate.blocks(plan) {
                var referenceLogits: UnsafeBufferPointer<Float>?
                if case .model(let runner) = reference { referenceLogits = runner.run(chunk, block) }
                let candidateLogits = candidate.run(chunk, block)
                guard block.isScored else { continue }
                let first = block.positions.lowerBound, base = c * plan.scoredPerChunk - plan.firstScored
                summaries = [ReferenceSummary?](repeating: nil, count: save == nil ? 0 : block.positions.count)
                samples.withUnsafeMutableBufferPointer { out in
                    summaries.withUnsafeMutableBufferPointer { kept in
                        candidate.pool.parallelFor(block.positions.count, grain: max(1, 32768 / vocab)) { rows in
                            for i in rows {
                                let pos = first + i, target = chunk[pos + 1]
                                let cand = LogitRow(candidateLogits.baseAddress! + i * vocab, count: vocab)
                                switch reference {
                                case .model:
                                    let ref = LogitRow(referenceLogits!.baseAddress! + i * vocab, count: vocab)
                                    out[base + pos] = TokenComparison.exact(reference: ref, candidate: cand, target: target)
                                    if let save {
                                        kept[i] = ReferenceSummary(ref, target: target, maxKept: save.header.maxKept,
                                                                   tailMass: save.header.tailMass, sampleRate: save.header.tailSampleRate)
                                    }
                                case .saved(let saved):
                                    out[base + pos] = TokenComparison.summarized(reference: saved.summaries[base + pos], candidate: cand,
                                                                                 target: target, tailBound: saved.header.tailMass)
                                }
                            }
                        }
                    }
                }
                if let save { for s in summaries { try save.append(s!) } }
            }
            try progress(c + 1)
        }
        switch reference {
        case .model:
            return LogitComparison(samples, kldMethod: "exact over the vocabulary")
        case .saved(let saved):
            let h = saved.header
            let method = "saved reference: most likely tokens (tail ≤ \(h.tailMass), ≤ \(h.maxKept) kept) plus the remaining mass"
                + (h.tailSampleRate > 0 ? ", estimated from tokens drawn from it where it is larger" : " as one outcome")
            return LogitComparison(samples, kldMethod: method, uncoveredTail: UncoveredTail(samples, header: h, fileVersion: saved.version))
        }
    }
}
