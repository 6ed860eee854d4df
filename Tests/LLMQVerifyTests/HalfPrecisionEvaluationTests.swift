import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import LLMQVerify
import Testing

/// Perplexity and calibration run fp16/bf16 weights in place (the float kernels widen them as they
/// load) and must give what the same weights expanded to fp32 give: the path a 7B checkpoint takes,
/// whose fp32 expansion would not fit in memory.
@Suite("fp16 and bf16 weights evaluated in place")
struct HalfPrecisionEvaluationTests {
    enum Source: String, CaseIterable, CustomTestStringConvertible {
        case hfBF16, hfF16, ggufBF16, ggufF16
        var testDescription: String { rawValue }
        var dtype: DType { self == .hfBF16 || self == .ggufBF16 ? .bf16 : .f16 }
        var isHF: Bool { self == .hfBF16 || self == .hfF16 }
    }

    /// stories260K (GQA: 8 query heads, 4 KV heads) stored in `source`'s form.
    static func open(_ source: Source, _ label: String = #function) throws -> Model {
        let dir = try Fixtures.scratch(label + source.rawValue)
        let original = try Harness.stories260K()
        if source.isHF {
            try HFDirectory.write(original, to: dir + "/hf", floatType: source.dtype)
            return try ModelFile.open(dir + "/hf")
        }
        // GGUF stores fp16/bf16 bytes as they are: go through a canonical safetensors file of that dtype.
        try SafetensorsWriter.write(original, to: dir + "/m.safetensors",
                                    options: SafetensorsWriter.Options(layout: .canonical, floatType: source.dtype))
        try ModelFile.write(ModelFile.open(dir + "/m.safetensors", tokenizerPath: Fixtures.tok512), to: dir + "/m.gguf", format: .gguf)
        return try ModelFile.open(dir + "/m.gguf")
    }

    @Test("matrices are used where the file maps them, Hugging Face Q and K in their stored row order", arguments: Source.allCases)
    func inPlace(source: Source) throws {
        let model = try Self.open(source)
        let weights = try TransformerWeights(model: model)
        for (l, layer) in weights.layers.enumerated() {
            #expect(layer.rotateHalf == source.isHF)
            let names = [(layer.wq, "attn_q"), (layer.wk, "attn_k"), (layer.wv, "attn_v"), (layer.down, "ffn_down")]
            for (matrix, name) in names {
                let t = try model.tensor("blk.\(l).\(name).weight")
                #expect(matrix.dtype == source.dtype)
                let stored = try model.storedData(t).baseAddress
                #expect(matrix.data == stored, "blk.\(l).\(name) is not a copy")
            }
        }
    }

    @Test("perplexity equals the fp32 expansion's to rounding, batched and token by token", arguments: Source.allCases)
    func perplexity(source: Source) throws {
        let model = try Self.open(source)
        let tokens = try Harness.tokens(model)
        let plan = try Harness.plan(tokens, ctx: 128, chunks: 3)
        for batch in [nil, 1] as [Int?] {
            let native = Perplexity.evaluate(try Harness.runner(model, plan, batch: batch), tokens: tokens, plan: plan)
            let expanded = Perplexity.evaluate(try Harness.runner(model, plan, batch: batch, simulate: true), tokens: tokens, plan: plan)
            // The widened rows meet the same kernels as their fp32 expansion; allow fp32 rounding
            // in case a kernel ever sums them in another order.
            #expect(Harness.close(native.meanNLL.value, expanded.meanNLL.value, relative: 1e-5),
                    "\(native.meanNLL.value) in place vs \(expanded.meanNLL.value) expanded")
        }
    }

    @Test("calibration statistics equal the fp32 expansion's to rounding", arguments: [Source.hfBF16, .ggufF16])
    func calibration(source: Source) throws {
        let model = try Self.open(source)
        let tokens = try Harness.tokens(model)
        let plan = try Harness.plan(tokens, ctx: 128, chunks: 2, scoreAll: true)
        let native = Calibration.collect(try Harness.runner(model, plan), tokens: tokens, plan: plan, datasets: ["sample"])
        let expanded = Calibration.collect(try Harness.runner(model, plan, simulate: true), tokens: tokens, plan: plan, datasets: ["sample"])
        #expect(Set(native.entries.keys) == Set(expanded.entries.keys))
        for (name, entry) in expanded.entries {
            let other = try #require(native[name])
            for (a, b) in zip(other.sumSquares, entry.sumSquares) {
                #expect(Harness.close(Double(a), Double(b), relative: 1e-4), "\(name): \(a) in place vs \(b) expanded")
            }
        }
    }
}
