import LLMQCore

/// Mixed precision under a bit budget (`llmq quantize --target-bpw`): every matrix starts at the
/// recipe's base type (the classifier too), then matrices climb a ladder of wider types
/// (`defaultLadder`) where that removes the most expected divergence per extra bit, as long as the whole
/// model (norms and fallbacks included) stays within the budget. A matrix's sensitivity is its
/// share of the mean KL divergence its measurement unit causes when that unit alone is quantized
/// with `measurementRecipe()` (`llmq calibrate --sensitivity`); at other types it is scaled by the
/// matrix's own rounding error there.
public enum BitAllocation {
    /// How finely `llmq calibrate --sensitivity` measures: one forward pass per unit.
    public enum Granularity: String, CaseIterable, Sendable, Codable {
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

    /// One matrix's decision.
    public struct Choice: Sendable, Equatable, Codable {
        public var tensor: String
        /// Its measured share of the KL divergence at the measurement type.
        public var sensitivity: Double
        /// What the recipe alone would give it, and what the budget gave it.
        public var base: DType
        public var chosen: DType
        /// Bits `chosen` adds over the narrowest type the ladder allowed it.
        public var extraBits: Int
        /// The sensitivity scaled by the chosen type's error: its expected share of the KL divergence.
        public var estimatedKLD: Double
        /// The next wider rung it did not get and the bits that would have added (nil at the top).
        public var nextExtraBits: Int?

        public var upgraded: Bool { chosen != base }
    }

    /// The rungs `--target-bpw` climbs by default: the types with one scale per block (which
    /// error feedback can also round) wider than the measurement type, narrowest first.
    public static var defaultLadder: [DType] {
        let floor = (try? measurementRecipe().base.bitsPerWeight) ?? 0
        return BlockTypes.all.filter { $0 is any SymmetricBlockType.Type }.map { DType($0) }
            .filter { $0.bitsPerWeight > floor }.sorted { $0.bitsPerWeight < $1.bitsPerWeight }
    }

    /// The recipe `base` plus one rule per matrix that a bit budget moves up `ladder`.
    ///
    /// A matrix's share of the KL divergence at type T is taken as its measured sensitivity times
    /// (its importance-weighted rounding error at T) / (that error at the measurement type) —
    /// divergence grows with the power of the perturbation, matrix by matrix, to first order.
    /// `errors` estimates those errors (`RoundingError.estimate`). Starting from the base plan,
    /// the step with the most divergence removed per extra bit (to any higher rung of any
    /// matrix) is taken while the whole model, norms and fallbacks included, stays within
    /// `targetBPW`. Tensors one of `base`'s rules names keep that rule.
    public static func recipe(for model: Model, base: QuantizationRecipe, sensitivity: [String: Double], targetBPW: Double,
                              ladder: [DType] = defaultLadder,
                              errors: (Tensor, [DType]) throws -> [Double]) throws -> (recipe: QuantizationRecipe, choices: [Choice]) {
        // The smallest plan: the base type everywhere, the classifier too — or a llama.cpp mix's own choices.
        let floorRules = base.mix == nil ? [classifierRule(base.base)] : []
        var floor = base
        floor.rules = base.rules + floorRules
        let plan = try floor.plan(for: model)
        let budget = targetBPW * Double(plan.elementCount)
        var spent = Double(plan.byteCount * 8)
        let ruled = try base.rules.map { try Regex($0.pattern) }
        let measured = try measurementRecipe().base
        var rungs: [[Rung]] = []
        var choices: [Choice] = []
        for e in plan.entries where unit(of: e.name) != nil && e.shape.count == 2 && !ruled.contains(where: { e.name.contains($0) }) {
            guard let s = sensitivity[e.name] else {
                throw LLMQError(.usage, "no sensitivity was measured for \(e.name); run llmq calibrate --sensitivity on this model")
            }
            guard let tensor = model[e.name] else { continue }
            let bits = { (t: DType) in 8 * (t.byteCount(shape: e.shape) ?? 0) }
            // The measurement type as `measurementRecipe()` fitted it (llmq's own fallback).
            let measuredFit = try measurementRecipe().fallback(measured, cols: e.shape[1], source: e.sourceDType)?.0 ?? measured
            // Rungs: the plan's type and every ladder type whose blocks fit the rows (a type that
            // would fall back to another is that other type's rung, or f16's: no rung at all).
            let ladderTypes = ladder.filter { !$0.isBlockQuantized || e.shape[1] % $0.blockSize == 0 }
            let types = [measuredFit, e.dtype] + ladderTypes.filter { $0 != e.dtype }
            let error = try errors(tensor, types)
            let scale = error[0] > 0 ? s / error[0] : 0
            var options: [Rung] = []
            for (t, err) in zip(types.dropFirst(), error.dropFirst()) where !options.contains(where: { $0.dtype == t }) {
                options.append(Rung(dtype: t, bits: bits(t), kld: scale * err))
            }
            options.sort { $0.bits < $1.bits }
            // Ladder types narrower than the plan's lower the floor.
            spent += Double(options[0].bits - bits(e.dtype))
            rungs.append(options)
            choices.append(Choice(tensor: e.name, sensitivity: s, base: e.dtype, chosen: e.dtype, extraBits: 0,
                                  estimatedKLD: options[0].kld, nextExtraBits: nil))
        }
        guard spent <= budget else {
            throw LLMQError(.usage, "the smallest plan the ladder allows already takes \(spent / Double(plan.elementCount)) bits per weight, over the target \(targetBPW)")
        }
        var at = [Int](repeating: 0, count: choices.count)
        while true {
            var best: (ratio: Double, i: Int, rung: Int)?
            for i in choices.indices {
                let now = rungs[i][at[i]]
                for r in (at[i] + 1)..<max(at[i] + 1, rungs[i].count) {
                    let extra = Double(rungs[i][r].bits - now.bits), gain = now.kld - rungs[i][r].kld
                    guard extra > 0, gain > 0, spent + extra <= budget else { continue }
                    // Ties go to the earlier matrix in model order, so the result does not depend on hashing.
                    if best == nil || gain / extra > best!.ratio { best = (gain / extra, i, r) }
                }
            }
            guard let step = best else { break }
            spent += Double(rungs[step.i][step.rung].bits - rungs[step.i][at[step.i]].bits)
            at[step.i] = step.rung
        }
        for i in choices.indices {
            let rung = rungs[i][at[i]]
            choices[i].chosen = rung.dtype
            choices[i].extraBits = rung.bits - rungs[i][0].bits
            choices[i].estimatedKLD = rung.kld
            choices[i].nextExtraBits = at[i] + 1 < rungs[i].count ? rungs[i][at[i] + 1].bits - rung.bits : nil
        }
        // One rule per matrix, so each tensor's recorded reason names just itself.
        let upgrades = choices.filter(\.upgraded).sorted { $0.tensor < $1.tensor }.map { anyOf([$0.tensor], $0.chosen) }
        var result = base
        result.rules = base.rules + upgrades + floorRules
        return (result, choices)
    }

    /// One type a matrix can take: its size and the divergence it is expected to cause.
    private struct Rung {
        var dtype: DType
        var bits: Int
        var kld: Double
    }

    /// A rule naming exactly these tensors.
    private static func anyOf(_ names: [String], _ type: DType) -> QuantizationRecipe.Rule {
        let escaped = names.map { $0.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "\\.") }
        return QuantizationRecipe.Rule(pattern: "^(\(escaped.joined(separator: "|")))$", type: type)
    }
}
