import LLMQCore

/// Mixed precision under a bit budget (`llmq quantize --target-bpw`): every matrix starts at the
/// recipe's base type (the classifier too), then matrices move to a wider type in order of
/// measured sensitivity per extra bit, as long as the whole model (norms and fallbacks included)
/// stays within the budget. A matrix's sensitivity is its share of the mean KL divergence its
/// measurement unit causes when that unit alone is quantized with `measurementRecipe()`
/// (`llmq calibrate --sensitivity`); the wider type's own error is taken as negligible beside it.
public enum BitAllocation {
    /// How finely `llmq calibrate --sensitivity` measures: one forward pass per unit.
    public enum Granularity: String, CaseIterable, Sendable {
        /// A layer's attention matrices, a layer's feed-forward matrices, the embedding, the classifier.
        case block
        /// Every matrix alone.
        case tensor
    }

    /// The unit a tensor is measured with; nil for tensors that are never mixed (norms).
    public static func unit(of name: String, _ granularity: Granularity = .block) -> String? {
        if name == CanonicalName.tokenEmbedding || name == CanonicalName.output { return name }
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight" else { return nil }
        let role = parts[2]
        guard role.hasPrefix("attn_") && role != "attn_norm" || role.hasPrefix("ffn_") && role != "ffn_norm" else { return nil }
        switch granularity {
        case .tensor: return name
        case .block: return "blk.\(parts[1]).\(role.hasPrefix("attn_") ? "attn" : "ffn")"
        }
    }

    /// The type sensitivities are measured with: every matrix, the classifier included, as
    /// scale-searched q4_0 (weighted by the importance matrix when there is one).
    public static func measurementRecipe() throws -> QuantizationRecipe {
        try QuantizationRecipe(base: .q4_0, rules: [classifierRule(.q4_0)], scaleSearch: true)
    }

    /// Per tensor: its unit's measured KLD apportioned by element count (a unit of one tensor keeps it all).
    public static func apportion(_ unitKLD: [Double], units: [[Tensor]]) -> [String: Double] {
        var result: [String: Double] = [:]
        for (kld, tensors) in zip(unitKLD, units) {
            let total = tensors.reduce(0) { $0 + $1.elementCount }
            for t in tensors { result[t.name] = kld * Double(t.elementCount) / Double(max(total, 1)) }
        }
        return result
    }

    /// The embedding and the classifier at `type`, overriding the recipe's wider classifier default.
    static func classifierRule(_ type: DType) -> QuantizationRecipe.Rule {
        anyOf([CanonicalName.tokenEmbedding, CanonicalName.output], type)
    }

    /// One tensor's decision.
    public struct Choice: Sendable, Equatable {
        public var tensor: String
        public var sensitivity: Double
        /// Bits the wider type adds.
        public var extraBits: Int
        public var upgraded: Bool
    }

    /// The recipe `base` plus rules that give `upgrade` to the matrices with the highest
    /// sensitivity per extra bit, as many as fit in `targetBPW` bits per weight over all tensors.
    /// `sensitivity` is by tensor name; tensors matched by one of `base`'s rules keep that rule.
    public static func recipe(for model: Model, base: QuantizationRecipe, sensitivity: [String: Double], targetBPW: Double,
                              upgrade: DType = .q8_0) throws -> (recipe: QuantizationRecipe, choices: [Choice]) {
        let floorRule = classifierRule(base.base)
        let floor = try QuantizationRecipe(base: base.base, rules: base.rules + [floorRule], scaleSearch: base.scaleSearch)
        let plan = try floor.plan(for: model)
        let budget = targetBPW * Double(plan.elementCount)
        var spent = Double(plan.byteCount * 8)
        guard spent <= budget else {
            throw LLMQError(.usage, "the smallest plan (\(base.base) everywhere) already takes \(plan.bitsPerWeight) bits per weight, over the target \(targetBPW)")
        }
        let ruled = try base.rules.map { try Regex($0.pattern) }
        var choices: [Choice] = []
        for e in plan.entries where unit(of: e.name) != nil && e.shape.count == 2 && !ruled.contains(where: { e.name.contains($0) }) {
            guard let s = sensitivity[e.name] else {
                throw LLMQError(.usage, "no sensitivity was measured for \(e.name); run llmq calibrate --sensitivity on this model")
            }
            let wider = e.shape[1] % upgrade.blockSize == 0 ? upgrade : QuantizationRecipe.fallback(upgrade, cols: e.shape[1], source: e.sourceDType).0
            let extra = 8 * ((wider.byteCount(shape: e.shape) ?? 0) - (e.dtype.byteCount(shape: e.shape) ?? 0))
            choices.append(Choice(tensor: e.name, sensitivity: s, extraBits: extra, upgraded: false))
        }
        // Most sensitivity per extra bit first; ties by name, so the result does not depend on hashing.
        choices.sort { a, b in
            let x = a.sensitivity / Double(max(a.extraBits, 1)), y = b.sensitivity / Double(max(b.extraBits, 1))
            return x != y ? x > y : a.tensor < b.tensor
        }
        for i in choices.indices where choices[i].extraBits > 0 && spent + Double(choices[i].extraBits) <= budget {
            spent += Double(choices[i].extraBits)
            choices[i].upgraded = true
        }
        // One rule per matrix, so each tensor's recorded reason names just itself.
        let upgrades = choices.filter(\.upgraded).map(\.tensor).sorted().map { anyOf([$0], upgrade) }
        let rules = base.rules + upgrades + [floorRule]
        return (try QuantizationRecipe(base: base.base, rules: rules, scaleSearch: base.scaleSearch), choices)
    }

    /// A rule naming exactly these tensors.
    private static func anyOf(_ names: [String], _ type: DType) -> QuantizationRecipe.Rule {
        let escaped = names.map { $0.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "\\.") }
        return QuantizationRecipe.Rule(pattern: "^(\(escaped.joined(separator: "|")))$", type: type)
    }
}
