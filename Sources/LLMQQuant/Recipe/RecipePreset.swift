import LLMQCore

/// Named sets of tensor type rules (`llmq quantize --preset`), placed before any `--tensor-type`
/// rules of the user's, which therefore still win.
public enum RecipePreset: String, CaseIterable, Sendable {
    /// Every matrix at the base type, the classifier included: the smallest file.
    case pure
    /// `attn_v` and `ffn_down` at q8_0 in the layers where llama.cpp's Q4_K_M gives them more bits
    /// (the first and last eighth of the layers and every third between), classifier q8_0.
    case moreBits = "more-bits"
    /// The first and last layers' matrices at q8_0, classifier q8_0: the layers whose errors
    /// reach the output least attenuated or feed every later layer.
    case ends

    /// The rules for a model of `layers` layers quantized to `base`.
    public func rules(base: DType, layers: Int) -> [QuantizationRecipe.Rule] {
        switch self {
        case .pure:
            return [BitAllocation.classifierRule(base)]
        case .moreBits:
            let chosen = (0..<layers).filter { i in i < layers / 8 || i >= 7 * layers / 8 || (i - layers / 8) % 3 == 2 }
            return chosen.isEmpty ? [] : [Self.layers(chosen, "attn_v|ffn_down")]
        case .ends:
            return [Self.layers(Array(Set([0, max(0, layers - 1)])).sorted(), "[a-z_]+")]
        }
    }

    /// q8_0 for the named matrices of the given layers.
    private static func layers(_ indices: [Int], _ matrices: String) -> QuantizationRecipe.Rule {
        let list = indices.map(String.init).joined(separator: "|")
        return QuantizationRecipe.Rule(pattern: "^blk\\.(\(list))\\.(\(matrices))\\.weight$", type: .q8_0)
    }
}
