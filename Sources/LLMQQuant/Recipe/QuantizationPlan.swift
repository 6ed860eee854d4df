import LLMQCore

/// One decision per tensor of a model: the dtype it is written as and, when that is not the
/// recipe's base type, why. Codable so the container can store it beside the tensors.
public struct QuantizationPlan: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var sourceDType: DType
        public var dtype: DType
        /// Why the tensor did not get the base type (a policy, a rule, a fallback); nil when it did.
        public var reason: String?

        public init(name: String, shape: [Int], sourceDType: DType, dtype: DType, reason: String? = nil) {
            self.name = name
            self.shape = shape
            self.sourceDType = sourceDType
            self.dtype = dtype
            self.reason = reason
        }

        /// The tensor is written as stored, without decoding and re-encoding.
        public var passesThrough: Bool { dtype == sourceDType }

        enum CodingKeys: String, CodingKey {
            case name, shape, dtype, reason
            case sourceDType = "source_dtype"
        }
    }

    public var recipe: QuantizationRecipe
    /// In the model's tensor order.
    public var entries: [Entry]

    public init(recipe: QuantizationRecipe, entries: [Entry]) {
        self.recipe = recipe
        self.entries = entries
    }

    public subscript(name: String) -> Entry? {
        entries.first { $0.name == name }
    }

    /// Bytes of all tensors in their planned dtypes.
    public var byteCount: Int { entries.reduce(0) { $0 + ($1.dtype.byteCount(shape: $1.shape) ?? 0) } }
    public var elementCount: Int { entries.reduce(0) { $0 + $1.shape.reduce(1, *) } }
    public var bitsPerWeight: Double { elementCount == 0 ? 0 : Double(byteCount * 8) / Double(elementCount) }
}

extension QuantizationRecipe {
    /// Decides every tensor of `model` (see the type's documentation for the policies).
    public func plan(for model: Model) throws -> QuantizationPlan {
        let mixRules = try mix?.rules(for: model, imatrix: importanceWeighted) ?? []
        let compiled = try (rules + mixRules).map { rule in (rule, try Regex(rule.pattern)) }
        let classifier = model.config.sharedClassifier ? CanonicalName.tokenEmbedding : CanonicalName.output
        let entries = model.tensors.map { t -> QuantizationPlan.Entry in
            var (dtype, reason) = choose(t, classifier: classifier, rules: compiled)
            if let (fitted, why) = fallback(dtype, cols: t.cols, source: t.dtype) {
                // A mix's reason for the type stays beside llama.cpp's fallback from it.
                (dtype, reason) = (fitted, mix != nil ? (reason.map { $0 + "; " } ?? "") + why : why)
            }
            return QuantizationPlan.Entry(name: t.name, shape: t.shape, sourceDType: t.dtype, dtype: dtype, reason: reason)
        }
        return QuantizationPlan(recipe: self, entries: entries)
    }

    private func choose(_ t: Tensor, classifier: String, rules: [(Rule, Regex<AnyRegexOutput>)]) -> (DType, String?) {
        if t.shape.count < 2 { return (.f32, "1-D tensors (norms) stay f32") }
        if let (rule, _) = rules.first(where: { t.name.contains($0.1) }) { return (rule.type, rule.note ?? "rule \(rule)") }
        if mix == nil, t.name == classifier, classifierType != base {
            return (classifierType, "classifier: \(classifierType) under a \(base.bitsPerWeight)-bit base")
        }
        return (base, nil)
    }

    /// What a matrix of `cols` columns asked to be `dtype` becomes when its rows are not whole
    /// blocks, and why; nil when they are.
    func fallback(_ dtype: DType, cols: Int, source: DType) -> (DType, String)? {
        guard dtype.isBlockQuantized, cols % dtype.blockSize != 0 else { return nil }
        return mix != nil ? Self.llamaCppFallback(dtype, cols: cols) : Self.fallback(dtype, cols: cols, source: source)
    }

    /// The same type at the largest group that divides the row, else a float type.
    static func fallback(_ dtype: DType, cols: Int, source: DType) -> (DType, String) {
        let why = "rows of \(cols) are not a multiple of the \(dtype) block (\(dtype.blockSize))"
        if let group = GroupSizes.flexible.reversed().first(where: { $0 < dtype.blockSize && cols % $0 == 0 && dtype.type.accepts(groupSize: $0) }) {
            return (dtype.grouped(group), "\(why): group \(group)")
        }
        let float: DType = source == .bf16 ? .bf16 : .f16
        return (float, "\(why): \(float)")
    }

    /// llama.cpp's fallback type when it divides the row, else f16 (as llama-quantize does).
    static func llamaCppFallback(_ dtype: DType, cols: Int) -> (DType, String) {
        let why = "rows of \(cols) are not a multiple of the \(dtype) block (\(dtype.blockSize))"
        if let fallback = LlamaCppMix.fallback(for: dtype), cols % fallback.blockSize == 0 {
            return (fallback, "\(why): llama.cpp's fallback \(fallback)")
        }
        return (.f16, "\(why): f16")
    }
}
