import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

/// The batched forward pass (many positions per pass over the weights) against token-by-token
/// decoding: the same logits to rounding, the same KV cache, for multi-head and grouped-query attention, for every
/// weight dtype with a native kernel, starting anywhere in the context.
@Suite("batched forward matches token-by-token decoding")
struct BatchedForwardTests {
    /// Odd sizes on purpose: a 10-wide head, 70-wide hidden and 301 rows exercise every kernel tail.
    static let mha = ModelConfig(dim: 40, hiddenDim: 70, layerCount: 2, headCount: 4, kvHeadCount: 4, vocabSize: 301, contextLength: 96)
    static let gqa = ModelConfig(dim: 64, hiddenDim: 96, layerCount: 2, headCount: 8, kvHeadCount: 2, vocabSize: 300, contextLength: 96)
    /// 16-wide heads: the 8-query attention kernel walks two column blocks.
    static let gqa16 = ModelConfig(dim: 64, hiddenDim: 96, layerCount: 2, headCount: 4, kvHeadCount: 2, vocabSize: 300, contextLength: 96)

    /// Deterministic tokens that cover the vocabulary.
    static func tokens(_ count: Int, vocab: Int) -> [Int] {
        (0..<count).map { ($0 * 7919 + 13) % vocab }
    }

    /// Logits of every position, token by token.
    static func sequential(_ t: Transformer, _ tokens: [Int]) -> [[Float]] {
        tokens.enumerated().map { pos, token in Array(t.forward(token: token, pos: pos)) }
    }

    /// Logits of every position, in batches of the given sizes (which must add up to tokens.count).
    static func batched(_ t: Transformer, _ tokens: [Int], blocks: [Int]) -> [[Float]] {
        var rows: [[Float]] = []
        var start = 0
        let vocab = t.config.vocabSize
        for size in blocks {
            let logits = t.forward(tokens: tokens[start..<(start + size)], startPos: start)
            for i in 0..<size { rows.append(Array(logits[(i * vocab)..<((i + 1) * vocab)])) }
            start += size
        }
        return rows
    }

    /// Largest |Δ| relative to the largest |logit| of the reference row.
    static func worstDifference(_ a: [[Float]], _ b: [[Float]]) -> Float {
        zip(a, b).map { ra, rb in
            let scale = max(ra.map(abs).max() ?? 1, 1e-6)
            return zip(ra, rb).map { abs($0 - $1) }.max()! / scale
        }.max()!
    }

    /// The model with its matrices in `dtype`: the fp16 view, or the quantizer's view for block types.
    static func stored(_ model: Model, as dtype: String) throws -> Model {
        if dtype == "f32" { return model }
        if dtype == "f16" { return try ModelViews.f16Matrices(model) }
        let base = try #require(DType(name: dtype))
        let view = try Quantizer.view(of: model, plan: try QuantizationRecipe(base: base).plan(for: model))
        #expect(view.tensors.contains { $0.dtype == base } && MatVec.supports(base))
        return view
    }

    /// Every shape in the float types; the block types need rows that are whole blocks of 32.
    static let cases: [(shape: String, dtype: String)] =
        ["mha", "gqa", "gqa16"].flatMap { s in ["f32", "f16"].map { (s, $0) } } + ["q8_0", "q4_0", "q4_1"].map { ("gqa", $0) }
    static let shapes = ["mha": mha, "gqa": gqa, "gqa16": gqa16]

    @Test("uneven blocks from position 0 reproduce every position's logits, for every dtype with a kernel", arguments: cases)
    func unevenBlocks(shape: String, dtype: String) throws {
        let config = try #require(Self.shapes[shape])
        let model = try Self.stored(SyntheticModel.make(config: config, seed: 11), as: dtype)
        let tokens = Self.tokens(90, vocab: config.vocabSize)
        let weights = try TransformerWeights(model: model)
        let reference = Self.sequential(Transformer(weights: weights), tokens)
        let batched = Self.batched(Transformer(weights: weights), tokens, blocks: [7, 1, 33, 49])
        if dtype.hasPrefix("q") {
            // Batches of block types sum each row in another order than single products, and the
            // int8 activations turn a rounding difference that lands on a step into a one-step
            // change, which every later position then sees through the cache (the q8_0 case: from
            // position 68 on, 1e-3 to 1e-2). So: most positions to rounding, every one within
            // a step's reach.
            let differences = zip(reference, batched).map { Self.worstDifference([$0], [$1]) }.sorted()
            #expect(differences[differences.count / 2] < 1e-5, "median \(differences[differences.count / 2])")
            #expect(differences.last! < 3e-2, "worst \(differences.last!)")
        } else {
            #expect(Self.worstDifference(reference, batched) < 1e-5)
        }
    }

    @Test("a batch continues a cache filled token by token, and decoding continues after a batch")
    func mixedPaths() throws {
        let model = try SyntheticModel.make(config: Self.gqa, seed: 3)
        let tokens = Self.tokens(80, vocab: Self.gqa.vocabSize)
        let weights = try TransformerWeights(model: model)
        let reference = Self.sequential(Transformer(weights: weights), tokens)
        let t = Transformer(weights: weights)
        var rows = Self.sequential(t, Array(tokens[0..<23]))
        let logits = t.forward(tokens: tokens[23..<61], startPos: 23)
        let vocab = Self.gqa.vocabSize
        for i in 0..<38 { rows.append(Array(logits[(i * vocab)..<((i + 1) * vocab)])) }
        for pos in 61..<80 { rows.append(Array(t.forward(token: tokens[pos], pos: pos))) }
        #expect(Self.worstDifference(reference, rows) < 1e-5)
    }

    @Test("the matrix–matrix kernel equals one matrix–vector product per input, for every tile remainder",
          arguments: [(1, 1), (3, 8), (5, 37), (13, 64), (8, 172)])
    func kernelAgainstMatVec(rows: Int, cols: Int) throws {
        let weights = (0..<(rows * cols)).map { Float(($0 * 7919) % 1009) / 1009 - 0.5 }
        let inputs = (0..<(7 * cols)).map { Float(($0 * 104729) % 997) / 997 - 0.5 }
        let matvec = MatVec(pool: ThreadPool(threads: 2))
        try weights.withUnsafeBytes { w in
            let matrix = WeightMatrix(rows: rows, cols: cols, dtype: .f32, data: UnsafeRawPointer(try #require(w.baseAddress)))
            for count in 1...7 {
                var batched = [Float](repeating: .nan, count: count * rows)
                var single = [Float](repeating: .nan, count: rows)
                inputs.withUnsafeBufferPointer { x in
                    matvec.batched(matrix, x.baseAddress!, count: count, &batched)
                    for t in 0..<count {
                        matvec(matrix, x.baseAddress! + t * cols, &single)
                        let worst = zip(single, batched[(t * rows)..<((t + 1) * rows)]).map { abs($0 - $1) }.max()!
                        #expect(worst < 1e-5, "count \(count), input \(t): max |Δ| \(worst)")
                    }
                }
            }
        }
    }

    @Test("stories260K: one 300-position batch equals 300 single steps")
    func realModel() throws {
        let weights = try TransformerWeights(model: ModelFile.open(Fixtures.stories260K))
        let tokens = Self.tokens(300, vocab: 512)
        let reference = Self.sequential(Transformer(weights: weights), tokens)
        let batched = Self.batched(Transformer(weights: weights, pool: ThreadPool(threads: 2)), tokens, blocks: [300])
        #expect(Self.worstDifference(reference, batched) < 1e-5)
    }
}
