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

        public init(pattern: String, type: DType) {
            self.pattern = pattern
            self.type = type
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

    public init(base: DType, rules: [Rule] = [], scaleSearch: Bool = false) throws {
        guard Quantize.canEncode(base) else {
            throw LLMQError(.usage, "llmq cannot quantize to \(base) (\(Self.writableTypes))")
        }
        for rule in rules { try rule.validate() }
        self.base = base
        self.rules = rules
        self.scaleSearch = scaleSearch
    }

    /// From command-line spellings: `type` a dtype name, `group` the block size of block types,
    /// `rules` as `REGEX=TYPE`.
    public init(type: String, group: Int? = nil, rules: [String] = [], scaleSearch: Bool = false) throws {
        guard let named = DType(name: type) else { throw LLMQError(.usage, "unknown quantization type '\(type)'") }
        var base = named
        if let group {
            guard named.isBlockQuantized else { throw LLMQError(.usage, "a group size applies to block types, not \(named)") }
            base = named.grouped(group)
            guard base.isValidBlockSize else { throw LLMQError(.usage, "\(named) does not take groups of \(group) (\(Self.writableTypes))") }
        }
        try self.init(base: base, rules: try rules.map(Rule.init(parsing:)), scaleSearch: scaleSearch)
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
    // plus "scale_search": true when searched.
    enum CodingKeys: String, CodingKey {
        case type, group, rules
        case scaleSearch = "scale_search"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try c.decode(String.self, forKey: .type)
        do {
            try self.init(type: kind, group: try c.decodeIfPresent(Int.self, forKey: .group),
                          rules: try c.decode([Rule].self, forKey: .rules).map { "\($0.pattern)=\($0.type)" },
                          scaleSearch: try c.decodeIfPresent(Bool.self, forKey: .scaleSearch) ?? false)
        } catch let e as LLMQError {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: e.message))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(base.name, forKey: .type)
        if base.isBlockQuantized { try c.encode(base.blockSize, forKey: .group) }
        try c.encode(rules, forKey: .rules)
        if scaleSearch { try c.encode(true, forKey: .scaleSearch) }
    }
}

extension QuantizationRecipe.Rule: CustomStringConvertible {
    public var description: String { "\(pattern)=\(type)" }
}
