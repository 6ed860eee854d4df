import LLMQCore
import LLMQFormats
import LLMQQuant

extension ContainerMetadata.Quantization {
    /// The record a container keeps of a quantization: the recipe, and per tensor what it became,
    /// why, and its measured error (tensors that passed through unchanged are exact).
    /// - Parameter imatrix: the importance matrix file that weighted the scale search, if any.
    public init(plan: QuantizationPlan, stats: QuantizationStats, imatrix: String? = nil) {
        let base = plan.recipe.base
        // A llama.cpp mix is recorded by its name (its per-matrix choices are in each tensor's reason).
        let recipe = ContainerMetadata.Recipe(type: plan.recipe.mix?.rawValue ?? base.name,
                                              group: base.isBlockQuantized && plan.recipe.mix == nil ? base.blockSize : nil,
                                              rules: plan.recipe.rules.map { .init(pattern: $0.pattern, type: $0.type.description) },
                                              scaleSearch: plan.recipe.scaleSearch ? true : nil, imatrix: imatrix)
        let tensors = plan.entries.map { entry in
            let error = stats[entry.name]
            return ContainerMetadata.TensorRecord(name: entry.name, shape: entry.shape, sourceDType: entry.sourceDType.description,
                                                  dtype: entry.dtype.description, reason: entry.reason,
                                                  rmse: error?.rmse ?? (entry.passesThrough ? 0 : nil), snrDB: error?.snrDB)
        }
        self.init(recipe: recipe, tensors: tensors)
    }
}
