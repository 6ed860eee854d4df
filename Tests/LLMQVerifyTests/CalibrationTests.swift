import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import LLMQVerify
import Testing

@Suite("Calibration")
struct CalibrationTests {
    static func collect(_ model: Model, ctx: Int = 128, chunks: Int = 4, batch: Int? = nil) throws -> ImportanceMatrix {
        let tokens = try Harness.tokens(model)
        let plan = try Harness.plan(tokens, ctx: ctx, chunks: chunks, scoreAll: true)
        return Calibration.collect(try Harness.runner(model, plan, batch: batch), tokens: tokens, plan: plan, datasets: ["sample"])
    }

    @Test("every matrix gets its input's statistics, the same token by token as batched")
    func statistics() throws {
        let model = try Harness.stories260K()
        let batched = try Self.collect(model)
        let stepwise = try Self.collect(model, batch: 1)
        let matrices = model.tensors.filter { $0.shape.count == 2 }
        // stories260K shares its classifier with the embedding, so every matrix is a product's weight.
        #expect(Set(batched.entries.keys) == Set(matrices.map(\.name)))
        for t in matrices {
            let a = try #require(batched[t.name]), b = try #require(stepwise[t.name])
            #expect(a.count == 4 * 127 && b.count == a.count)
            #expect(a.sumSquares.count == t.cols)
            #expect(a.sumSquares.allSatisfy { $0 > 0 }, "\(t.name): every channel is active")
            for (x, y) in zip(a.sumSquares, b.sumSquares) {
                #expect(abs(x - y) <= 1e-3 * y, "\(t.name): \(x) batched vs \(y) token by token")
            }
        }
        #expect(batched["blk.2.attn_q.weight"] == batched["blk.2.attn_v.weight"])
        #expect(batched["blk.2.ffn_gate.weight"] == batched["blk.2.ffn_up.weight"])
        #expect(batched.chunkCount == 4 && batched.chunkSize == 128 && batched.datasets == ["sample"])
    }

    @Test("imatrix-weighted scale search lowers the importance-weighted error below plain and unweighted search")
    func weightedErrorFalls() throws {
        let model = try Harness.stories260K()
        let importance = try Self.collect(model)
        var totals: [String: Double] = [:]
        for (label, search, matrix) in [("plain", false, nil), ("search", true, nil), ("imatrix", true, importance)] as [(String, Bool, ImportanceMatrix?)] {
            let recipe = try QuantizationRecipe(type: "q4_0", scaleSearch: search)
            let view = try Quantizer.view(of: model, plan: try recipe.plan(for: model), importance: matrix)
            var total = 0.0
            for t in view.tensors where t.dtype.isBlockQuantized {
                let weights = try #require(try importance.columnWeights(for: t))
                let reference = try Dequantize.tensor(model, model.tensor(t.name)), restored = try Dequantize.tensor(view, t)
                total += reference.withUnsafeBufferPointer { r in
                    restored.withUnsafeBufferPointer { ImportanceMatrix.weightedError(r, $0, weights: weights) }
                }
            }
            totals[label] = total
        }
        #expect(totals["search"]! < totals["plain"]!)
        #expect(totals["imatrix"]! < totals["search"]! * 0.95, "\(totals)")
    }

    @Test("sensitivity: quantizing nothing costs exactly 0, each quantized unit costs something")
    func sensitivity() throws {
        let model = try Harness.stories260K()
        let tokens = try Harness.tokens(model)
        let plan = try Harness.plan(tokens, ctx: 64, chunks: 2, scoreAll: true)
        let recipe = try BitAllocation.measurementRecipe()
        let quantized = try Quantizer.view(of: model, plan: try recipe.plan(for: model))
        let values = try Sensitivity.measure(source: model, quantized: quantized, units: [[], ["blk.1.attn_q.weight", "blk.1.attn_k.weight"],
                                                                                             ["token_embd.weight"]],
                                             tokens: tokens, plan: plan, pool: ThreadPool(threads: 1))
        #expect(values.count == 3 && values[0] == 0)
        #expect(values[1] > 0 && values[2] > values[1], "\(values)")
    }

    @Test("SmolLM2-135M (grouped-query attention, byte-level BPE, tied classifier): calibration covers every matrix and the imatrix lowers the weighted error",
          .smolLM2)
    func smolLM2() throws {
        let model = try ModelFile.open(try Fixtures.smolLM2())
        let sample = try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8)
        let tokenizer = try Tokenizers.make(model.tokenizer!)
        #expect(!tokenizer.addsBOS)   // tokenizer.ggml.add_bos_token = false
        let text = EvaluationTokens(text: String(sample.prefix(2000)), tokenizer: tokenizer), tokens = text.tokens
        let plan = try text.plan(contextLength: 128, maxChunks: 1, scoreAll: true)
        let importance = Calibration.collect(try ChunkRunner(model: model, plan: plan), tokens: tokens, plan: plan, datasets: [])
        #expect(importance.entries.count == 30 * 7 + 1)
        #expect(importance["blk.0.attn_k.weight"]?.sumSquares.count == 576 && importance["blk.0.ffn_down.weight"]?.sumSquares.count == 1536)
        var errors: [Double] = []
        for matrix in [nil, importance] as [ImportanceMatrix?] {
            let recipe = try QuantizationRecipe(type: "q4_0", scaleSearch: matrix != nil)
            let view = try Quantizer.view(of: model, plan: try recipe.plan(for: model), importance: matrix)
            var total = 0.0
            for name in ["blk.0.attn_v.weight", "blk.11.ffn_down.weight", "blk.29.ffn_down.weight"] {
                let t = try view.tensor(name)
                let weights = try #require(try importance.columnWeights(for: t))
                let reference = try Dequantize.tensor(model, named: name), restored = try Dequantize.tensor(view, t)
                total += reference.withUnsafeBufferPointer { r in
                    restored.withUnsafeBufferPointer { ImportanceMatrix.weightedError(r, $0, weights: weights) }
                }
            }
            errors.append(total)
        }
        #expect(errors[1] < errors[0] * 0.9, "\(errors)")
    }
}
