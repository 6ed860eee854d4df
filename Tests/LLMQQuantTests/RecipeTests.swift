import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

@Suite("Quantization recipes and plans")
struct RecipeTests {
    static func stories() throws -> Model { try Llama2CReader.read(path: Fixtures.stories260K) }

    @Test("stories260K at q4_0: norms f32, shared classifier q8_0, ffn_down (rows of 172) f16, the rest q4_0")
    func stories260KPlan() throws {
        let model = try Self.stories()
        let plan = try QuantizationRecipe(type: "q4_0").plan(for: model)
        #expect(plan.entries.map(\.name) == model.tensors.map(\.name))
        for e in plan.entries {
            switch e.name {
            case _ where e.name.hasSuffix("_norm.weight"):
                #expect(e.dtype == .f32 && e.reason?.contains("1-D") == true, "\(e.name)")
            case CanonicalName.tokenEmbedding:
                #expect(e.dtype == .q8_0 && e.reason?.contains("classifier") == true)
            case _ where e.name.contains("ffn_down"):
                #expect(e.dtype == .f16, "\(e.name)")
                #expect(e.reason == "rows of 172 are not a multiple of the q4_0 block (32): f16")
            default:
                #expect(e.dtype == .q4_0 && e.reason == nil, "\(e.name)")
            }
            #expect(e.sourceDType == .f32 && e.shape == model[e.name]?.shape)
        }
        // 5 × 64·172 f16 weights, the 512×64 classifier at 8.5 bits, the rest at 4.5.
        #expect(plan.bitsPerWeight > 4.5 && plan.bitsPerWeight < 9)
    }

    @Test("rules: first match wins, they override the classifier default, never the norms")
    func rules() throws {
        let model = try Self.stories()
        let recipe = try QuantizationRecipe(type: "q4_1", rules: [#"^blk\.0\..*=f16"#, "ffn_(gate|up)=q8_0", "token_embd=q4_0", "norm=q4_0"])
        let plan = try recipe.plan(for: model)
        #expect(plan["blk.0.ffn_gate.weight"]?.dtype == .f16)
        #expect(plan["blk.0.ffn_gate.weight"]?.reason == #"rule ^blk\.0\..*=f16"#)
        #expect(plan["blk.1.ffn_gate.weight"]?.dtype == .q8_0)
        #expect(plan["blk.4.ffn_up.weight"]?.dtype == .q8_0)
        #expect(plan["blk.4.attn_q.weight"]?.dtype == .q4_1)
        #expect(plan["token_embd.weight"]?.dtype == .q4_0)
        #expect(plan["blk.3.attn_norm.weight"]?.dtype == .f32)
        #expect(plan["output_norm.weight"]?.dtype == .f32)
    }

    @Test("bad recipes are usage errors")
    func badRecipes() throws {
        for rule in ["noequals", "=q8_0", "ffn=q9", "ffn=q8_K", "(unclosed=q8_0"] {
            let error = #expect(throws: LLMQError.self) { try QuantizationRecipe(type: "q4_0", rules: [rule]) }
            #expect(error?.kind == .usage, "\(rule)")
        }
        #expect(throws: LLMQError.self) { try QuantizationRecipe(type: "q8_K") }
        #expect(throws: LLMQError.self) { try QuantizationRecipe(type: "q4_0", group: 48) }
        #expect(throws: LLMQError.self) { try QuantizationRecipe(type: "f16", group: 64) }
    }

    @Test("group sizes: the largest group that divides a row, else f16", arguments: [64, 128, 256])
    func groups(group: Int) throws {
        let model = try Self.stories()
        let plan = try QuantizationRecipe(type: "q4_0", group: group).plan(for: model)
        // stories260K's rows are 64 wide except ffn_down's 172.
        let q = try #require(plan["blk.2.attn_q.weight"])
        #expect(q.dtype == DType.q4_0.grouped(64))
        #expect((q.reason == nil) == (group == 64))
        if group > 64 { #expect(q.reason == "rows of 64 are not a multiple of the q4_0_g\(group) block (\(group)): group 64") }
        #expect(plan["blk.2.ffn_down.weight"]?.dtype == .f16)
        #expect(plan["token_embd.weight"]?.dtype == .q8_0, "the classifier default is q8_0 at ggml's 32")
    }

    @Test("a q8_0 base keeps the classifier at q8_0; float bases apply to every matrix")
    func otherBases() throws {
        let model = try Self.stories()
        let q8 = try QuantizationRecipe(type: "q8_0").plan(for: model)
        #expect(q8["token_embd.weight"]?.dtype == .q8_0 && q8["token_embd.weight"]?.reason == nil)
        let f16 = try QuantizationRecipe(type: "f16").plan(for: model)
        #expect(f16.entries.allSatisfy { $0.shape.count == 1 ? $0.dtype == .f32 : $0.dtype == .f16 })
    }

    @Test("plans and recipes round-trip through JSON in the container's spelling")
    func codable() throws {
        let model = try Self.stories()
        let recipe = try QuantizationRecipe(type: "q4_0", group: 64, rules: [#"^output\.weight$=q8_0"#])
        let plan = try recipe.plan(for: model)
        let json = try JSONEncoder().encode(plan)
        #expect(try JSONDecoder().decode(QuantizationPlan.self, from: json) == plan)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(recipe), as: UTF8.self)
        #expect(text == #"{"group":64,"rules":[{"pattern":"^output\\.weight$","type":"q8_0"}],"type":"q4_0"}"#)
        let entry = String(decoding: try encoder.encode(plan["blk.0.ffn_down.weight"]!), as: UTF8.self)
        #expect(entry.contains(#""source_dtype":"f32""#) && entry.contains(#""dtype":"f16""#))
    }
}
