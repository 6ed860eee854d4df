import LLMQCore

/// Mixed precision under a bit budget (`llmq quantize --target-bpw`): every matrix starts at the
/// recipe's base type (the classifier too), then whole units — a layer's attention matrices, a
/// layer's feed-forward matrices, the embedding, the classifier — move to a wider type in order of
/// measured sensitivity per extra bit, as long as the whole model (norms and fallbacks included)
/// stays within the budget. Sensitivity is the mean KL divergence the unit causes when it alone is
/// quantized to the 4-bit type (`llmq calibrate --sensitivity`); the wider type's own error is
/// taken as negligible beside it.
public enum BitAllocation {
    /// The unit a tensor is measured and decided with; nil for tensors that are never mixed (norms).
    public static func unit(of name: String) -> String? {
        if name == CanonicalName.tokenEmbedding || name == CanonicalName.output { return name }
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight" else { return nil }
        if parts[2].hasPrefix("attn_") && parts[2] != "attn_norm" { return "blk.\(parts[1]).attn" }
        if parts[2].hasPrefix("ffn_") && parts[2] != "ffn_norm" { return "blk.\(parts[1]).ffn" }
        return nil
    }

    /// The type sensitivities are measured with: every matrix, the classifier included, as
    /// scale-searched q4_0 (weighted by the importance matrix when there is one).
    public static func measurementRecipe() throws -> QuantizationRecipe {
        try QuantizationRecipe(base: .q4_0, rules: [classifierRule(.q4_0)], scaleSearch: true)
    }

    /// The embedding and the classifier at `type`, overriding the recipe's wider classifier default.
    static func classifierRule(_ type: DType) -> QuantizationRecipe.Rule {
        let names = [CanonicalName.tokenEmbedding, CanonicalName.output].map(escaped).joined(separator: "|")
        return QuantizationRecipe.Rule(pattern: "^(\(names))$", type: type)
    }

    /// One unit's decision.
    public struct Choice: Sendable, Equatable {
        public var unit: String
        public var tensors: [String]
        public var sensitivity: Double
        /// Bits the wider type adds.
        public var extraBits: Int
        public var upgraded: Bool
    }

    /// The recipe `base` plus rules that give `upgrade` to the units with the highest
    /// sensitivity per extra bit, as many as fit in `targetBPW` bits per weight over all tensors.
    /// `sensitivity` is by unit (`unit(of:)`); units matched by one of `base`'s rules keep that rule.
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
        var members: [String: [QuantizationPlan.Entry]] = [:]
        for entry in plan.entries where entry.shape.count == 2 && !ruled.contains(where: { entry.name.contains($0) }) {
            if let unit = unit(of: entry.name) { members[unit, default: []].append(entry) }
        }
        var choices: [Choice] = []
        for (unit, entries) in members {
            guard let s = sensitivity[unit] else {
                throw LLMQError(.usage, "no sensitivity was measured for \(unit); run llmq calibrate --sensitivity on this model")
            }
            let extra = entries.reduce(0) { total, e in
                let wider = e.shape[1] % upgrade.blockSize == 0 ? upgrade
                    : QuantizationRecipe.fallback(upgrade, cols: e.shape[1], source: e.sourceDType).0
                return total + 8 * ((wider.byteCount(shape: e.shape) ?? 0) - (e.dtype.byteCount(shape: e.shape) ?? 0))
            }
            choices.append(Choice(unit: unit, tensors: entries.map(\.name), sensitivity: s, extraBits: extra, upgraded: false))
        }
        // Most sensitivity per extra bit first; ties by name, so the result does not depend on hashing.
        choices.sort { a, b in
            let x = a.sensitivity / Double(max(a.extraBits, 1)), y = b.sensitivity / Double(max(b.extraBits, 1))
            return x != y ? x > y : a.unit < b.unit
        }
        var upgrades: [QuantizationRecipe.Rule] = []
        for i in choices.indices where choices[i].extraBits > 0 && spent + Double(choices[i].extraBits) <= budget {
            spent += Double(choices[i].extraBits)
            choices[i].upgraded = true
            upgrades.append(QuantizationRecipe.Rule(pattern: "^(\(choices[i].tensors.map(escaped).joined(separator: "|")))$", type: upgrade))
        }
        let recipe = try QuantizationRecipe(base: base.base, rules: base.rules + upgrades + [floorRule], scaleSearch: base.scaleSearch)
        return (recipe, choices)
    }

    private static func escaped(_ name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "\\.")
    }
}
