import LLMQCore
import LLMQEngine
import LLMQQuant

/// The calibration forward pass one layer at a time, for GPTQ at the scale of memory where every
/// layer's second moments at once do not fit (22 GB at Llama-2-7B's shape): the hidden states of
/// every calibration position are kept at one layer boundary (chunks × positions × dim floats),
/// and asking for a layer's covariances runs just that layer over every chunk, collecting its
/// inputs' Σx·xᵀ and moving the hidden states past it. The layer is the batched forward pass's
/// own code on the same blocks of positions, so the covariances are the bits
/// `Calibration.collectCovariances` sums over whole forward passes.
public final class LayerWalk {
    public let runner: ChunkRunner
    let tokens: [Int]
    let plan: EvaluationPlan
    /// Threads for summing the second moments.
    public let threads: Int
    /// Rows of `dim`: chunk c's position p at row c · positions + p.
    private let hidden: UnsafeMutablePointer<Float>
    private let positions: Int
    /// The layer whose input `hidden` holds; layerCount once past the last.
    public private(set) var nextLayer = 0
    /// Chunk-layers run so far (for progress).
    public private(set) var chunksRun = 0

    public init(_ runner: ChunkRunner, tokens: [Int], plan: EvaluationPlan, threads: Int) {
        self.runner = runner
        self.tokens = tokens
        self.plan = plan
        self.threads = threads
        positions = plan.evaluatedPerChunk
        hidden = .allocate(capacity: max(1, plan.chunkCount * positions * runner.transformer.config.dim))
        embed()
    }

    deinit { hidden.deallocate() }

    public var chunkCount: Int { plan.chunkCount }

    /// Bytes the kept hidden states take.
    public var hiddenStateBytes: Int { plan.chunkCount * positions * runner.transformer.config.dim * 4 }

    private func embed() {
        let dim = runner.transformer.config.dim
        for c in 0..<plan.chunkCount {
            runner.transformer.embed(plan.chunk(c, of: tokens).prefix(positions), into: hidden + c * positions * dim)
        }
        nextLayer = 0
    }

    /// The second moments of layer `layer`'s matrix inputs (`layerCount`: the classifier's), each
    /// once. Walks forward to it, from the embeddings again if the walk is already past it.
    /// - Parameter progress: called after each chunk; what it throws ends the walk.
    public func covariances(layer: Int, progress: () throws -> Void) rethrows -> [MatmulInput: InputCovariance] {
        let t = runner.transformer, layers = t.config.layerCount
        precondition(layer >= 0 && layer <= layers, "layer \(layer) of \(layers)")
        if layer < nextLayer { embed() }
        while nextLayer < layer { try run(nextLayer, observer: nil, progress: progress) }
        let collector = CovarianceCollector(threads: threads)
        if layer < layers {
            try run(layer, observer: collector, progress: progress)
        } else {
            t.activationObserver = collector
            defer { t.activationObserver = nil }
            let dim = t.config.dim
            for c in 0..<plan.chunkCount {
                for block in runner.blocks(plan) where block.isScored {
                    t.observeClassifierInput(hidden + (c * positions + block.positions.lowerBound) * dim, count: block.positions.count)
                }
                try progress()
            }
        }
        return collector.covariances
    }

    private func run(_ layer: Int, observer: CovarianceCollector?, progress: () throws -> Void) rethrows {
        let t = runner.transformer, dim = t.config.dim
        t.activationObserver = observer
        defer { t.activationObserver = nil }
        for c in 0..<plan.chunkCount {
            for block in runner.blocks(plan) {
                t.forwardLayer(layer, hidden + (c * positions + block.positions.lowerBound) * dim, count: block.positions.count,
                               startPos: block.positions.lowerBound)
            }
            chunksRun += 1
            try progress()
        }
        nextLayer = layer + 1
    }
}
