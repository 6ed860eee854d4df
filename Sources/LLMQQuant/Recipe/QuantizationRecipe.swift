import LLMQBlocks
import LLMQCore

/// What a quantization asks for: a base type and group for the weight matrices, and `REGEX=TYPE`
/// rules that override it for the tensors whose canonical name (`blk.3.ffn_down.weight`) the
/// pattern matches anywhere (anchor with `^…$`); the first matching rule wins. `plan(for:)` turns
/// it into one decision per tensor.
///
/// Policies the rules cannot override, and defaults they can:
/// - 1-D tensors (the norms) stay f32: they are tiny and scale whole activations.
/// - The classifier (`output.weight`, or `token_embd.weight` when the embedding is shared) gets
///   q8_0 under a 4-bit base: every logit passes through it, and llama.cpp likewise keeps it at
///   6 bits or more (Q6_K) in its 4-bit recipes. `docs/quantization.md` measures the difference.
/// - A separate embedding gets the base type, as in llama.cpp: an error in one row perturbs only
///   that token's input vector.
/// - A matrix whose rows are not a whole number of blocks gets the same type at the largest group
///   that divides the row, else f16 (bf16 for bf16 sources, whose range f16 may not cover), as
///   llama.cpp falls back to f16. stories260K's `ffn_down` (rows of 172) is the common case.
public struct QuantizationRecipe: Codable, Sendable, Equatable {
    public struct Rule: Codable, Sendable, Equatable {
        /// A regular expression searched for in canonical tensor names.
        public var pattern: String
        public var type: DType
        /// Why the rule exists, when a mix or an allocation made it (the plan's reason shows it).
        public var note: String?

        public init(pattern: String, type: DType, note: String? = nil) {
            self.pattern = pattern
            self.type = type
            self.note = note
        }

        /// A rule for the one tensor named `name`.
        public init(exactly name: String, type: DType, note: String? = nil) {
            let escaped = name.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "\\.")
            self.init(pattern: "^\(escaped)$", type: type, note: note)
        }

        /// `REGEX=TYPE`, split at the last `=` (types never contain one).
        public init(parsing text: String) throws {
            guard let split = text.lastIndex(of: "="), split != text.startIndex else {
                throw LLMQError(.usage, "tensor type rule '\(text)' is not REGEX=TYPE")
            }
            let name = String(text[text.index(after: split)...])
            guard let type = DType(name: name) else { throw LLMQError(.usage, "tensor type rule '\(text)': unknown type '\(name)'") }
            self.init(pattern: String(text[..<split]), type: type)
            try validate()
        }

        func validate() throws {
            guard Quantize.canEncode(type) else { throw LLMQError(.usage, "tensor type rule '\(self)': llmq cannot write \(type)") }
            do { _ = try Regex(pattern) } catch {
                throw LLMQError(.usage, "tensor type rule '\(self)': bad regular expression: \(error)")
            }
        }
    }

    /// The type of every matrix no rule or default names, group size included (`q4_0_g64`).
    public var base: DType
    public var rules: [Rule]
    /// Search each block's scale (and minimum) for the least (importance-weighted) squared error
    /// instead of the reference rounding; the bytes then differ from ggml's.
    public var scaleSearch: Bool
    /// llama.cpp's mix this recipe follows: its per-matrix choices come after `rules`, its
    /// classifier choice replaces llmq's default, and rows that are not whole blocks take
    /// llama.cpp's fallback types.
    public var mix: LlamaCppMix?
    /// Whether an importance matrix weights the quantization (llama.cpp's mixes choose differently then).
    public var importanceWeighted: Bool

    public init(base: DType, rules: [Rule] = [], scaleSearch: Bool = false, mix: LlamaCppMix? = nil,
                importanceWeighted: Bool = false) throws {
        guard Quantize.canEncode(base) else {
            throw LLMQError(.usage, "llmq cannot quantize to \(base) (\(Self.writableTypes))")
        }
        for rule in rules { try rule.validate() }
        self.base = base
        self.rules = rules
        self.scaleSearch = scaleSearch
        self.mix = mix
        self.importanceWeighted = importanceWeighted
    }

    /// From command-line spellings: `type` a dtype name or a llama.cpp mix (spelled as llama.cpp
    /// does: `Q4_K_M`), `group` the block size of block types, `rules` as `REGEX=TYPE`.
    public init(type: String, group: Int? = nil, rules: [String] = [], scaleSearch: Bool = false,
                importanceWeighted: Bool = false) throws {
        if let mix = LlamaCppMix(llamaCppName: type) {
            guard let base = mix.base else { throw LLMQError(.usage, "llmq cannot write the base type of \(type)") }
            if let group, group != base.blockSize { throw LLMQError(.usage, "\(type) is llama.cpp's mix; it takes no group size") }
            try self.init(base: base, rules: try rules.map(Rule.init(parsing:)), scaleSearch: scaleSearch, mix: mix,
                          importanceWeighted: importanceWeighted)
            return
        }
        guard let named = DType(name: type) else {
            throw LLMQError(.usage, "unknown quantization type '\(type)' (\(Self.writableTypes); llama.cpp's mixes \(LlamaCppMix.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        var base = named
        if let group {
            guard named.isBlockQuantized else { throw LLMQError(.usage, "a group size applies to block types, not \(named)") }
            base = named.grouped(group)
            guard base.isValidBlockSize else { throw LLMQError(.usage, "\(named) does not take groups of \(group) (\(Self.writableTypes))") }
        }
        try self.init(base: base, rules: try rules.map(Rule.init(parsing:)), scaleSearch: scaleSearch,
                      importanceWeighted: importanceWeighted)
    }

    /// The types a recipe may name, with the group sizes they take besides their own: "f32, …,
    /// q4_0 (groups 32, 64, 128, 256), …", for messages and help.
    public static var writableTypes: String {
        BlockTypes.encodable.map { type in
            let groups = GroupSizes.flexible.filter { type.accepts(groupSize: $0) }
            return groups.count > 1 ? "\(type.name) (groups \(groups.map(String.init).joined(separator: ", ")))" : type.name
        }.joined(separator: ", ")
    }

    /// The classifier's type unless a rule names it: q8_0 when the base has fewer bits.
    public var classifierType: DType {
        base.isBlockQuantized && base.bitsPerWeight < DType.q8_0.bitsPerWeight ? .q8_0 : base
    }

    // Stored as the container's metadata spells it: {"type": "q4_0", "group": 32, "rules": [{"pattern", "type"}]},
    // plus "scale_search": true when searched and "importance_weighted": true with an imatrix; a
    // mix is stored by its name as the type ({"type": "Q4_K_M", "rules": []}).
    enum CodingKeys: String, CodingKey {
        case type, group, rules
        case scaleSearch = "scale_search"
        case importanceWeighted = "importance_weighted"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .type)
        do {
            try self.init(type: kind, group: try c.decodeIfPresent(Int.self, forKey: .group), rules: [],
                          scaleSearch: try c.decodeIfPresent(Bool.self, forKey: .scaleSearch) ?? false,
                          importanceWeighted: try c.decodeIfPresent(Bool.self, forKey: .importanceWeighted) ?? false)
            rules = try c.decode([Rule].self, forKey: .rules)
            for rule in rules { try rule.validate() }
        } catch let e as LLMQError {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: e.message))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let mix {
            try c.encode(mix.rawValue, forKey: .type)
        } else {
            try c.encode(base.name, forKey: .type)
            if base.isBlockQuantized { try c.encode(base.blockSize, forKey: .group) }
        }
        try c.encode(rules, forKey: .rules)
        if scaleSearch { try c.encode(true, forKey: .scaleSearch) }
        if importanceWeighted { try c.encode(true, forKey: .importanceWeighted) }
    }
}

extension QuantizationRecipe.Rule: CustomStringConvertible {
    public var description: String { "\(pattern)=\(type)" }
}
