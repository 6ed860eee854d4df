import Dispatch
import Foundation
import LLMQCore
import LLMQEngine
import LLMQQuant
import LLMQVerify

/// `quantize --gptq TEXT`: runs the source model over the text and factors each matrix input's
/// second moments for error-feedback rounding. The quantizer gets only the factors; the forward
/// pass stays on this side (the quantizer never depends on the engine).
enum GPTQCalibration {
    static func factors(_ model: Model, text: String, contextLength: Int, chunks: Int, threads: Int?) throws -> [String: ErrorFeedback] {
        guard let vocabulary = model.tokenizer else { throw LLMQError(.usage, "--gptq needs the model's tokenizer; pass one with -z", file: model.path) }
        let tokenizer = try Tokenizers.make(vocabulary)
        guard let data = FileManager.default.contents(atPath: text) else { throw LLMQError(.io, "cannot read the calibration text", file: text) }
        let tokens = tokenizer.encode(String(decoding: data, as: UTF8.self), bos: true, eos: false)
        let plan = try EvaluationPlan(tokenCount: tokens.count, contextLength: min(contextLength, model.config.contextLength),
                                      maxChunks: chunks, scoreAll: true, bosID: tokenizer.bosID)
        let pool = ThreadPool(threads: threads)
        let runner = try ChunkRunner(model: model, plan: plan, pool: pool)
        let progress = Progress("gptq: collect")
        let covariances = Calibration.collectCovariances(runner, tokens: tokens, plan: plan, threads: pool.threads) {
            progress.update($0, plan.chunkCount)
        }
        progress.finish()
        // One factorization per distinct input, side by side.
        let distinct = Array(Set(covariances.values.map(ObjectIdentifier.init))).compactMap { id in covariances.values.first { ObjectIdentifier($0) == id } }
        let results = Locked([ObjectIdentifier: Result<ErrorFeedback, Error>]())
        DispatchQueue.concurrentPerform(iterations: distinct.count) { i in
            let result = Result { try ErrorFeedback(distinct[i]) }
            results.withLock { $0[ObjectIdentifier(distinct[i])] = result }
        }
        let factored = results.withLock { $0 }
        return try covariances.mapValues { try factored[ObjectIdentifier($0)]!.get() }
    }
}
