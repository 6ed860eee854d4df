import LLMQCore

/// llama.cpp's named quantization mixes (`llama-quantize model.gguf out.gguf Q4_K_M`): the type of
/// every matrix as its `llama_tensor_get_type` chooses it for Llama-architecture models, the
/// fallback it takes when rows are not a whole number of blocks, and the `general.file_type` it
/// records — so that `llmq quantize … --type Q4_K_M` writes the tensor types llama-quantize
/// writes, and users can compare files of the same name.
///
/// The choices (llama.cpp's `src/llama-quant.cpp`, for one expert and no fused QKV):
/// - the classifier (`output.weight`, or the shared embedding) at Q6_K — Q8_0 when its rows are
///   not whole blocks of the base type or the base is Q8_0;
/// - `attn_v`: Q2_K → Q4_K with ≥ 4 query heads per KV head, else Q3_K; Q3_K_M → Q5_K in the first
///   two layers, else Q4_K; Q3_K_L → Q5_K; IQ4_NL/IQ4_XS → Q5_K with ≥ 4 query heads per KV head;
///   Q4_K_M/Q5_K_M → Q6_K in "more bits" layers; Q4_K_S → Q5_K in the first four layers; Q3_K and
///   Q4_K become Q5_K in 80-layer (70B) models;
/// - `ffn_down`: Q2_K → Q3_K; Q3_K_M → Q5_K in the first sixteenth of the layers, else Q4_K;
///   Q3_K_L → Q5_K; Q4_K_M → Q6_K in "more bits" layers; IQ4_NL/IQ4_XS without an imatrix → Q5_K
///   in the first eighth; Q5_K_M → Q6_K in "more bits" layers; Q4_K_S → Q5_K in the first eighth;
///   Q4_0/Q5_0 with an imatrix → Q4_1/Q5_1 in the first eighth;
/// - `attn_output`: Q2_K → Q3_K, Q3_K_M → Q4_K, Q3_K_L → Q5_K;
/// - "more bits" layers are the first and last eighth and every third layer between.
public enum LlamaCppMix: String, CaseIterable, Sendable {
    case q4_0 = "Q4_0", q4_1 = "Q4_1", q5_0 = "Q5_0", q5_1 = "Q5_1", q8_0 = "Q8_0"
    case q2_K = "Q2_K", q3_K_S = "Q3_K_S", q3_K_M = "Q3_K_M", q3_K_L = "Q3_K_L"
    case q4_K_S = "Q4_K_S", q4_K_M = "Q4_K_M", q5_K_S = "Q5_K_S", q5_K_M = "Q5_K_M", q6_K = "Q6_K"
    case iq4_NL = "IQ4_NL", iq4_XS = "IQ4_XS"

    /// The mix llama.cpp spells `name` (exactly: llmq's block types are spelled in lower case, so
    /// `q4_0` is llmq's recipe and `Q4_0` llama.cpp's mix).
    public init?(llamaCppName name: String) {
        self.init(rawValue: name)
    }

    /// llama.cpp's `llama_ftype`, recorded as `general.file_type`.
    public var fileType: UInt32 {
        switch self {
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .q5_0: 8
        case .q5_1: 9
        case .q2_K: 10
        case .q3_K_S: 11
        case .q3_K_M: 12
        case .q3_K_L: 13
        case .q4_K_S: 14
        case .q4_K_M: 15
        case .q5_K_S: 16
        case .q5_K_M: 17
        case .q6_K: 18
        case .iq4_NL: 25
        case .iq4_XS: 30
        }
    }

    /// The type of every matrix no rule moves.
    public var base: DType? { DType(name: baseName) }

    private var baseName: String {
        switch self {
        case .q4_0: "q4_0"
        case .q4_1: "q4_1"
        case .q5_0: "q5_0"
        case .q5_1: "q5_1"
        case .q8_0: "q8_0"
        case .q2_K: "q2_K"
        case .q6_K: "q6_K"
        case .q3_K_S, .q3_K_M, .q3_K_L: "q3_K"
        case .q4_K_S, .q4_K_M: "q4_K"
        case .q5_K_S, .q5_K_M: "q5_K"
        case .iq4_NL: "iq4_nl"
        case .iq4_XS: "iq4_xs"
        }
    }

    /// llama.cpp's type for rows that are not a whole number of `type`'s blocks.
    static func fallback(for type: DType) -> DType? {
        let name: String? = switch type.name {
        case "q2_K", "q3_K": "q4_0"
        case "q4_K": "q5_0"
        case "q5_K": "q5_1"
        case "q6_K": "q8_0"
        case "iq4_xs": "iq4_nl"
        default: nil
        }
        return name.flatMap(DType.init(name:))
    }

    /// The rules that move matrices of `model` off the base type, one per matrix, each saying why
    /// (`QuantizationRecipe(mix:…)` puts them before the user's rules). `imatrix` is whether the
    /// quantization is weighted by an importance matrix: two mixes choose differently then, as
    /// llama.cpp does.
    public func rules(for model: Model, imatrix: Bool) throws -> [QuantizationRecipe.Rule] {
        guard let base else { throw LLMQError(.usage, "llmq cannot write \(rawValue)'s base type \(baseName)") }
        let c = model.config
        let context = Context(layers: c.layerCount, queryHeadsPerKVHead: c.headCount / max(c.kvHeadCount, 1), imatrix: imatrix)
        let classifier = c.sharedClassifier ? CanonicalName.tokenEmbedding : CanonicalName.output
        return model.tensors.filter { $0.shape.count == 2 }.compactMap { t in
            let choice = t.name == classifier ? classifierChoice(base: base, cols: t.cols) : matrixChoice(t.name, base: base, context)
            return choice.map { QuantizationRecipe.Rule(exactly: t.name, type: $0.0, note: "\(rawValue): \($0.1)") }
        }
    }

    struct Context {
        var layers: Int
        var queryHeadsPerKVHead: Int
        var imatrix: Bool

        /// llama.cpp's `use_more_bits`: the first and last eighth of the layers and every third between.
        func moreBits(_ layer: Int) -> Bool {
            layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
        }
    }

    private func classifierChoice(base: DType, cols: Int) -> (DType, String)? {
        let q8 = DType(name: "q8_0")!, q6 = DType(name: "q6_K")!
        if cols % base.blockSize != 0 { return (q8, "the classifier at q8_0 (rows of \(cols) are not whole \(base) blocks)") }
        return base == q8 ? nil : (q6, "the classifier at q6_K")
    }

    private func matrixChoice(_ name: String, base: DType, _ c: Context) -> (DType, String)? {
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
        let t = { (n: String) in DType(name: n)! }
        switch parts[2] {
        case "attn_v":
            var type: DType?
            switch self {
            case .q2_K: type = t(c.queryHeadsPerKVHead >= 4 ? "q4_K" : "q3_K")
            case .q3_K_M: type = t(layer < 2 ? "q5_K" : "q4_K")
            case .q3_K_L: type = t("q5_K")
            case .iq4_NL where c.queryHeadsPerKVHead >= 4, .iq4_XS where c.queryHeadsPerKVHead >= 4: type = t("q5_K")
            case .q4_K_M where c.moreBits(layer), .q5_K_M where c.moreBits(layer): type = t("q6_K")
            case .q4_K_S where layer < 4: type = t("q5_K")
            default: break
            }
            if c.layers == 80, ["q3_K", "q4_K"].contains((type ?? base).name) { type = t("q5_K") }
            return type.map { ($0, "attn_v of layer \(layer)") }
        case "ffn_down":
            let type: DType? = switch self {
            case .q2_K: t("q3_K")
            case .q3_K_M: t(layer < c.layers / 16 ? "q5_K" : "q4_K")
            case .q3_K_L: t("q5_K")
            case .q4_K_M where c.moreBits(layer): t("q6_K")
            case .iq4_NL where layer < c.layers / 8 && !c.imatrix, .iq4_XS where layer < c.layers / 8 && !c.imatrix: t("q5_K")
            case .q5_K_M where c.moreBits(layer): t("q6_K")
            case .q4_K_S where layer < c.layers / 8: t("q5_K")
            case .q4_0 where c.imatrix && layer < c.layers / 8: t("q4_1")
            case .q5_0 where c.imatrix && layer < c.layers / 8: t("q5_1")
            default: nil
            }
            return type.map { ($0, "ffn_down of layer \(layer)") }
        case "attn_output":
            let type: DType? = switch self {
            case .q2_K: t("q3_K")
            case .q3_K_M: t("q4_K")
            case .q3_K_L: t("q5_K")
            default: nil
            }
            return type.map { ($0, "attn_output of layer \(layer)") }
        default:
            return nil
        }
    }
}
