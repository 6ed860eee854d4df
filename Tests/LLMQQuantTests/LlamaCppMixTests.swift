import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

/// llama.cpp's mixes against llama-quantize itself: Tests/Fixtures/llama-mixes holds the type
/// llama-quantize chose for every tensor of two synthetic models (`scripts/reference/llama_mix_types.py`;
/// stories110M's rows are whole 256-blocks, SmolLM2-135M's 576-wide rows take the fallbacks).
@Suite("llama.cpp's quantization mixes")
struct LlamaCppMixTests {
    struct Fixture: Decodable {
        struct Mix: Decodable {
            var file_type: UInt32
            var tensors: [String: String]
        }
        var mixes: [String: Mix]
    }

    @Test("every mix gives each tensor the type llama-quantize gives it, and its file type", arguments: ["stories110M", "smollm2-135M"])
    func matchesLlamaQuantize(shape: String) throws {
        let path = Fixtures.repoRoot.appendingPathComponent("Tests/Fixtures/llama-mixes/\(shape).json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: path))
        let model = try SyntheticModel.make(config: try #require(SyntheticModel.shape(named: shape)).config, seed: 1)
        #expect(Set(fixture.mixes.keys) == Set(LlamaCppMix.allCases.map(\.rawValue)))
        for (name, expected) in fixture.mixes.sorted(by: { $0.key < $1.key }) {
            let mix = try #require(LlamaCppMix(llamaCppName: name))
            #expect(mix.fileType == expected.file_type, "\(name)")
            let plan = try QuantizationRecipe(type: name).plan(for: model)
            #expect(plan.entries.count == expected.tensors.count, "\(name)")
            for entry in plan.entries {
                #expect(entry.dtype.description == expected.tensors[entry.name], "\(name) \(entry.name): \(entry.dtype) (\(entry.reason ?? "base"))")
            }
        }
    }

    @Test("the choices that depend on the model and the imatrix follow llama.cpp's rules")
    func rules() throws {
        // Eight query heads per KV head move IQ4 attn_v to q5_K; 80 layers (70B) move Q4_K_M's q4_K attn_v to q5_K.
        let gqa = ModelConfig(dim: 1024, hiddenDim: 2816, layerCount: 16, headCount: 16, kvHeadCount: 2, vocabSize: 1024, contextLength: 256)
        let iq4 = try QuantizationRecipe(type: "IQ4_XS").plan(for: SyntheticModel.make(config: gqa, seed: 1))
        #expect(iq4["blk.5.attn_v.weight"]?.dtype == DType(name: "q5_K"))
        // With an imatrix, IQ4 keeps ffn_down and Q4_0 moves the first eighth's ffn_down to q4_1.
        let weighted = try QuantizationRecipe(type: "IQ4_XS", importanceWeighted: true).plan(for: SyntheticModel.make(config: gqa, seed: 1))
        #expect(weighted["blk.0.ffn_down.weight"]?.dtype == DType(name: "iq4_xs"))
        let q40 = try QuantizationRecipe(type: "Q4_0", importanceWeighted: true).plan(for: SyntheticModel.make(config: gqa, seed: 1))
        #expect(q40["blk.1.ffn_down.weight"]?.dtype == .q4_1 && q40["blk.2.ffn_down.weight"]?.dtype == .q4_0)
        let seventy = ModelConfig(dim: 512, hiddenDim: 1536, layerCount: 80, headCount: 8, kvHeadCount: 1, vocabSize: 1024, contextLength: 256)
        let m = try QuantizationRecipe(type: "Q4_K_M").plan(for: SyntheticModel.make(config: seventy, seed: 1))
        #expect(m["blk.40.attn_v.weight"]?.dtype == DType(name: "q5_K") && m["blk.42.attn_v.weight"]?.dtype == DType(name: "q6_K"))
    }

    @Test("a mix is spelled as llama.cpp spells it; llmq's types stay lower case")
    func spelling() throws {
        #expect(try QuantizationRecipe(type: "Q4_0").mix == .q4_0)
        #expect(try QuantizationRecipe(type: "q4_0").mix == nil)
        #expect(throws: LLMQError.self) { try QuantizationRecipe(type: "Q4_K_M", group: 64) }
        let recipe = try QuantizationRecipe(type: "Q4_K_M", rules: ["ffn_up=q8_0"])
        let decoded = try JSONDecoder().decode(QuantizationRecipe.self, from: JSONEncoder().encode(recipe))
        #expect(decoded == recipe)
    }
}
