#if canImport(Glibc)
import Glibc
#endif
import LLMQCore
import LLMQFormats
import LLMQQuant

/// Small files written by llmq's own writers, to seed the corpora next to the real models
/// scripts/fuzz copies from golden/models. Small seeds keep executions fast; the shapes and
/// vocabularies cover both tokenizer kinds, shared and separate classifiers and every block type.
enum Seeds {
    /// A one-layer model with grouped-query attention whose rows are whole q4/q8 blocks.
    static let tinyConfig = ModelConfig(dim: 32, hiddenDim: 64, layerCount: 1, headCount: 4, kvHeadCount: 2,
                                        vocabSize: 300, contextLength: 16)

    static func tiny(sharedClassifier: Bool = true, byteLevel: Bool = false) throws -> Model {
        var config = tinyConfig
        config.sharedClassifier = sharedClassifier
        if byteLevel { config.vocabSize = byteLevelVocabulary.count }
        let model = try SyntheticModel.make(config: config, seed: 7, name: "tiny")
        if byteLevel { model.tokenizer = byteLevelVocabulary }
        return model
    }

    /// The real stories260K with its tokenizer, when scripts/fuzz says where the models are.
    static func stories260K() throws -> Model? {
        guard let dir = getenv("LLMQ_FUZZ_MODELS").map({ String(cString: $0) }) else { return nil }
        return try ModelFile.open(dir + "/stories260K.bin", tokenizerPath: dir + "/tok512.bin")
    }

    /// `model` with its matrices quantized as `llmq quantize --type TYPE --group GROUP` would.
    static func quantized(_ model: Model, _ type: String, group: Int? = nil) throws -> Model {
        let recipe = try QuantizationRecipe(type: type, group: group)
        return try Quantizer.view(of: model, plan: try recipe.plan(for: model), threads: 1)
    }

    static func container(_ model: Model, to path: String, zstd: Bool = false, alignment: Int = 64) throws {
        try LLMQContainerWriter.write(model, to: path, options: .init(zstdLevel: zstd ? 3 : nil, alignment: alignment, threads: 1)) {
            ContainerMetadata(config: model.config, created: .init(command: "fuzz-seed", parameters: ["zstd": "\(zstd)"]),
                              extra: ["general.name": "tiny"])
        }
    }

    /// A GPT-2 byte-level vocabulary: two control tokens, the 256 byte characters, a few merges.
    static let byteLevelVocabulary: TokenizerData = {
        // GPT-2 spells printable Latin-1 bytes as themselves and moves the other 68 to U+0100 onwards.
        var spelling: [Unicode.Scalar] = []
        var moved: UInt32 = 256
        for b in 0..<256 as Range<UInt32> {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            spelling.append(Unicode.Scalar(printable ? b : moved)!)
            if !printable { moved += 1 }
        }
        let merged = ["Ġ t", "h e", "Ġt he", "Ġ a", "i n", "o n", "Ġ 1"]
        var pieces = [Array("<|endoftext|>".utf8), Array("<|im_start|>".utf8)]
        pieces += spelling.map { Array(String($0).utf8) }
        pieces += merged.map { Array($0.split(separator: " ").joined().utf8) }
        var types = [Int32](repeating: 1, count: pieces.count)
        types[0] = 3
        types[1] = 3
        return TokenizerData(kind: .byteLevelBPE, pieces: pieces, scores: [Float](repeating: 0, count: pieces.count), tokenTypes: types, merges: merged,
                             bosID: 1, eosID: 0, unknownID: nil, addBOS: false, preTokenizer: "smollm")
    }()
}
