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

    /// The measured rounding errors of stories260K's rows (all columns weigh 1).
    static func errors(_ model: Model) -> (Tensor, [DType]) throws -> [Double] {
        { tensor, types in try RoundingError.estimate(model, tensor, types: types, columnWeights: nil, search: true) }
    }

    @Test("a budget climbs the ladder where it removes the most divergence per bit, never exceeds the target, and grows with it")
    func budget() throws {
        let model = try Llama2CReader.read(path: Fixtures.stories260K)
        let base = try QuantizationRecipe(type: "q4_0", scaleSearch: true)
        let floor = try BitAllocation.recipe(for: model, base: base, sensitivity: Self.sensitivity, targetBPW: 0.1 + 7,
                                             errors: Self.errors(model))
        var previous = (bits: -1, kld: Double.infinity)
        for target in [7.2, 7.6, 8.0, 9.0] {
            let (recipe, choices) = try BitAllocation.recipe(for: model, base: base, sensitivity: Self.sensitivity, targetBPW: target,
                                                             errors: Self.errors(model))
            let plan = try recipe.plan(for: model)
            #expect(plan.bitsPerWeight <= target, "\(target): \(plan.bitsPerWeight)")
            #expect(recipe.scaleSearch)
            let bits = choices.reduce(0) { $0 + $1.extraBits }, kld = choices.reduce(0) { $0 + $1.estimatedKLD }
            #expect(bits >= previous.bits && kld <= previous.kld)
            previous = (bits, kld)
            for choice in choices {
                #expect(plan[choice.tensor]!.dtype == choice.chosen, "\(choice.tensor)")
                // Rows of 172 (ffn_down) cannot take 32-element blocks: their rungs are f16.
                #expect([DType.q4_0, .q5_0, .q8_0, .f16].contains(choice.chosen), "\(choice.tensor): \(choice.chosen)")
            }
            // A wider type's error is smaller, so every step up lowers the expected divergence.
            for choice in choices where choice.upgraded { #expect(choice.estimatedKLD < choice.sensitivity, "\(choice.tensor)") }
            // Whatever was left out would not have fit.
            let spare = target * Double(plan.elementCount) - Double(plan.byteCount * 8)
            for choice in choices {
                if let next = choice.nextExtraBits { #expect(Double(next) > spare, "\(target): \(choice.tensor)") }
            }
        }
        #expect(floor.choices.count == 36)
        // The ladder's middle rung is used: q5_0 removes most of q4_0's error for one bit.
        let (_, middle) = try BitAllocation.recipe(for: model, base: base, sensitivity: Self.sensitivity, targetBPW: 7.6,
                                                   errors: Self.errors(model))
        #expect(middle.contains { $0.chosen == .q5_0 })
        // The classifier starts at the base type, like everything else.
        let embedding = try #require(floor.choices.first { $0.tensor == "token_embd.weight" })
        #expect(try floor.recipe.plan(for: model)["token_embd.weight"]!.dtype == embedding.chosen)
        #expect(throws: LLMQError.self) {
            try BitAllocation.recipe(for: model, base: base, sensitivity: Self.sensitivity, targetBPW: 4, errors: Self.errors(model))
        }
        #expect(throws: LLMQError.self) {
            try BitAllocation.recipe(for: model, base: base, sensitivity: [:], targetBPW: 8, errors: Self.errors(model))
        }
    }

    @Test("rounding errors shrink about 4× from q4_0 to q5_0 and over 100× to q8_0, by the sample of rows")
    func roundingErrors() throws {
        let model = try Llama2CReader.read(path: Fixtures.stories260K)
        let tensor = try #require(model["blk.2.attn_q.weight"])
        let e = try RoundingError.estimate(model, tensor, types: [.q4_0, .q5_0, .q8_0, .q5_0], columnWeights: nil, search: true)
        #expect(e[1] / e[0] > 0.15 && e[1] / e[0] < 0.35, "\(e)")
        #expect(e[2] / e[0] < 0.01, "\(e)")
        #expect(e[3] == e[1])
        // Column weights move the measure: a weight of 0 on every column leaves no error.
        let none = try RoundingError.estimate(model, tensor, types: [.q4_0], columnWeights: [Float](repeating: 0, count: tensor.cols), search: true)
        #expect(none == [0])
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
