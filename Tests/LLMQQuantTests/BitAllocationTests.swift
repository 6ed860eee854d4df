import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

@Suite("Mixed precision: presets and bit budgets")
struct BitAllocationTests {
    @Test("tensors group into units: a layer's attention, a layer's feed-forward, the embedding, the classifier")
    func units() {
        #expect(BitAllocation.unit(of: "blk.3.attn_q.weight") == "blk.3.attn")
        #expect(BitAllocation.unit(of: "blk.3.attn_output.weight") == "blk.3.attn")
        #expect(BitAllocation.unit(of: "blk.12.ffn_down.weight") == "blk.12.ffn")
        #expect(BitAllocation.unit(of: "token_embd.weight") == "token_embd.weight")
        #expect(BitAllocation.unit(of: "output.weight") == "output.weight")
        #expect(BitAllocation.unit(of: "blk.3.attn_norm.weight") == nil)
        #expect(BitAllocation.unit(of: "blk.3.ffn_norm.weight") == nil)
        #expect(BitAllocation.unit(of: "blk.3.ffn_up.weight", .tensor) == "blk.3.ffn_up.weight")
        #expect(BitAllocation.unit(of: "blk.3.ffn_norm.weight", .tensor) == nil)
    }

    @Test("a unit's measured divergence is shared among its matrices by size")
    func apportion() {
        let big = Tensor(name: "a", shape: [3, 64], dtype: .f32, offset: 0, storedByteCount: 768)
        let small = Tensor(name: "b", shape: [1, 64], dtype: .f32, offset: 0, storedByteCount: 256)
        let shares = BitAllocation.apportion([0.4, 0.1], units: [[big, small], [Tensor(name: "c", shape: [2, 32], dtype: .f32, offset: 0, storedByteCount: 256)]])
        #expect(abs(shares["a"]! - 0.3) < 1e-12 && abs(shares["b"]! - 0.1) < 1e-12 && shares["c"] == 0.1)
    }

    /// stories260K's matrices with made-up sensitivities: later layers matter more.
    static let sensitivity: [String: Double] = {
        var s = ["token_embd.weight": 0.02]
        for l in 0..<5 {
            for m in ["attn_q", "attn_k", "attn_v", "attn_output"] { s["blk.\(l).\(m).weight"] = 0.001 * Double(l + 1) }
            for m in ["ffn_gate", "ffn_up", "ffn_down"] { s["blk.\(l).\(m).weight"] = 0.002 * Double(l + 1) }
        }
        return s
    }()

    @Test("a budget upgrades the most sensitive units per bit, never exceeds the target, and grows with it")
    func budget() throws {
        let model = try Llama2CReader.read(path: Fixtures.stories260K)
        let base = try QuantizationRecipe(type: "q4_0", scaleSearch: true)
        let floor = try BitAllocation.recipe(for: model, base: base, sensitivity: Self.sensitivity, targetBPW: 0.1 + 7)
        var previous = -1
        for target in [7.2, 7.6, 8.0, 9.0] {
            let (recipe, choices) = try BitAllocation.recipe(for: model, base: base, sensitivity: Self.sensitivity, targetBPW: target)
            let plan = try recipe.plan(for: model)
            #expect(plan.bitsPerWeight <= target, "\(target): \(plan.bitsPerWeight)")
            #expect(recipe.scaleSearch)
            let upgraded = choices.filter(\.upgraded)
            #expect(upgraded.count >= previous)
            previous = upgraded.count
            for choice in upgraded where plan[choice.tensor]!.shape[1] % 32 == 0 {
                #expect(plan[choice.tensor]!.dtype == .q8_0, "\(choice.tensor)")
            }
            // Whatever was left out would not have fit.
            let spare = target * Double(plan.elementCount) - Double(plan.byteCount * 8)
            for choice in choices where !choice.upgraded && choice.extraBits > 0 { #expect(Double(choice.extraBits) > spare) }
        }
        #expect(floor.choices.count == 36)
        // The classifier starts at the base type, like everything else.
        let embedding = try #require(floor.choices.first { $0.tensor == "token_embd.weight" })
        #expect(try floor.recipe.plan(for: model)["token_embd.weight"]!.dtype == (embedding.upgraded ? .q8_0 : .q4_0))
        #expect(throws: LLMQError.self) { try BitAllocation.recipe(for: model, base: base, sensitivity: Self.sensitivity, targetBPW: 4) }
        #expect(throws: LLMQError.self) { try BitAllocation.recipe(for: model, base: base, sensitivity: [:], targetBPW: 8) }
    }

    @Test("presets: pure keeps the classifier at the base type; more-bits follows llama.cpp's layer choice; ends widens layer 0 and the last")
    func presets() throws {
        let pure = RecipePreset.pure.rules(base: .q4_0, layers: 30)
        #expect(pure.count == 1 && pure[0].type == .q4_0)
        let more = try #require(RecipePreset.moreBits.rules(base: .q4_0, layers: 30).first)
        let regex = try Regex(more.pattern)
        let widened = (0..<30).filter { "blk.\($0).attn_v.weight".contains(regex) }
        #expect(widened == [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29])
        #expect("blk.5.ffn_down.weight".contains(regex) && !"blk.5.ffn_up.weight".contains(regex))
        let model = try Llama2CReader.read(path: Fixtures.stories260K)
        let ends = try QuantizationRecipe(base: .q4_0, rules: RecipePreset.ends.rules(base: .q4_0, layers: 5)).plan(for: model)
        #expect(ends["blk.0.attn_q.weight"]!.dtype == .q8_0 && ends["blk.4.ffn_gate.weight"]!.dtype == .q8_0)
        #expect(ends["blk.2.attn_q.weight"]!.dtype == .q4_0 && ends["blk.0.attn_norm.weight"]!.dtype == .f32)
    }
}
