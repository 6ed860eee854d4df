import LLMQCore
import LLMQEngine

/// Runs a transformer over the chunks of an evaluation plan, a block of positions per forward pass,
/// and hands each block's logits to the caller while they are valid.
public struct ChunkRunner {
    public let transformer: Transformer
    /// Positions per forward pass; 1 decodes token by token with `forward(token:pos:)`.
    public let batchSize: Int

    /// Positions per pass when none is asked for. Matrix–matrix products gain little beyond a few
    /// hundred rows, while the activations (logits above all) grow with every one.
    public static let defaultBatchSize = 512

    /// - Parameter batchSize: nil or 0 runs up to `defaultBatchSize` positions per pass.
    public init(_ transformer: Transformer, plan: EvaluationPlan, batchSize: Int? = nil) throws {
        guard plan.contextLength <= transformer.contextLength else {
            throw LLMQError(.usage, "context length \(plan.contextLength) exceeds the model's \(transformer.contextLength)")
        }
        if let batchSize, batchSize < 0 { throw LLMQError(.usage, "batch size \(batchSize) must be ≥ 0") }
        self.transformer = transformer
        let size = batchSize ?? 0
        self.batchSize = min(size == 0 ? ChunkRunner.defaultBatchSize : size, plan.evaluatedPerChunk)
    }

    /// A runner for `model` on its own kernels or, with `simulate`, on fp32 weights dequantized
    /// from it (what `--simulate` compares against).
    public init(model: Model, plan: EvaluationPlan, batchSize: Int? = nil, simulate: Bool = false,
                pool: ThreadPool = ThreadPool()) throws {
        let weights = try TransformerWeights(model: model, native: { simulate ? $0 == .f32 : MatVec.supports($0) })
        try self.init(Transformer(weights: weights, contextLength: plan.contextLength, pool: pool), plan: plan, batchSize: batchSize)
    }

    public var pool: ThreadPool { transformer.matvec.pool }
    public var vocabSize: Int { transformer.config.vocabSize }

    /// Consecutive positions run in one forward pass; only scored blocks produce logits.
    public struct Block: Sendable, Equatable {
        public let positions: Range<Int>
        public let isScored: Bool
    }

    /// The blocks one chunk runs in, in order: the unscored prefix, then the scored positions, each
    /// cut into passes of at most `batchSize` positions.
    public func blocks(_ plan: EvaluationPlan) -> [Block] {
        func cut(_ range: Range<Int>, scored: Bool) -> [Block] {
            stride(from: range.lowerBound, to: range.upperBound, by: batchSize).map {
                Block(positions: $0..<min($0 + batchSize, range.upperBound), isScored: scored)
            }
        }
        return cut(0..<plan.firstScored, scored: false) + cut(plan.firstScored..<plan.evaluatedPerChunk, scored: true)
    }

    /// Runs `block` of `chunk` (the blocks before it must have run, in order) and returns its logits
    /// (positions × vocab) when it is scored, an empty buffer otherwise.
    @discardableResult
    public func run(_ chunk: [Int], _ block: Block) -> UnsafeBufferPointer<Float> {
        let range = block.positions
        if batchSize == 1 {
            return UnsafeBufferPointer(transformer.forward(token: chunk[range.lowerBound], pos: range.lowerBound))
        }
        return UnsafeBufferPointer(transformer.forward(tokens: chunk[range], startPos: range.lowerBound, computeLogits: block.isScored))
    }
}

/// Wall-clock seconds since an instant.
func seconds(since start: ContinuousClock.Instant) -> Double {
    (ContinuousClock.now - start) / .seconds(1)
}
