#if canImport(Glibc)
import Glibc
#endif
import LLMQCore

/// Deterministic random Llama models of real shapes, for tests and benchmarks. Tensors are generated
/// when first read, so any writer can stream a synthetic model to disk in bounded memory.
public enum SyntheticModel {
    public struct Shape: Sendable {
        public var name: String
        public var config: ModelConfig
    }

    /// Shapes of public models (weights random): llama2.c's tinyllamas and SmolLM2-135M.
    public static let shapes: [Shape] = [
        Shape(name: "stories260K", config: ModelConfig(dim: 64, hiddenDim: 172, layerCount: 5, headCount: 8, kvHeadCount: 4,
                                                        vocabSize: 512, contextLength: 512)),
        Shape(name: "stories15M", config: ModelConfig(dim: 288, hiddenDim: 768, layerCount: 6, headCount: 6, kvHeadCount: 6,
                                                       vocabSize: 32000, contextLength: 256)),
        Shape(name: "stories42M", config: ModelConfig(dim: 512, hiddenDim: 1376, layerCount: 8, headCount: 8, kvHeadCount: 8,
                                                       vocabSize: 32000, contextLength: 1024)),
        Shape(name: "stories110M", config: ModelConfig(dim: 768, hiddenDim: 2048, layerCount: 12, headCount: 12, kvHeadCount: 12,
                                                        vocabSize: 32000, contextLength: 1024)),
        // SmolLM2-135M's shape; rope base stays 10000 so the llama2.c format can hold it.
        Shape(name: "smollm2-135M", config: ModelConfig(dim: 576, hiddenDim: 1536, layerCount: 30, headCount: 9, kvHeadCount: 3,
                                                         vocabSize: 49152, contextLength: 2048)),
    ]

    public static func shape(named name: String) -> Shape? {
        shapes.first { $0.name.lowercased() == name.lowercased() }
    }

    /// A model whose matrices are N(0, 0.02²) with a few large outliers per row (as trained models
    /// have), norms near 1, and a tokenizer of `config.vocabSize` pieces.
    public static func make(config: ModelConfig, seed: UInt64, name: String = "synthetic") throws -> Model {
        try config.validate()
        let tensors = CanonicalName.expectedTensors(config).enumerated().map { index, entry in
            let tensorSeed = seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
            let isNorm = CanonicalName.isNorm(entry.name)
            let count = entry.shape.reduce(1, *)
            return Tensor(name: entry.name, shape: entry.shape, dtype: .f32, offset: 0, storedByteCount: 0, encoding: "generated") { _ in
                generate(count: count, cols: entry.shape.last ?? 1, seed: tensorSeed, norm: isNorm)
            }
        }
        return try Model(format: FileFormat(name: "synthetic", detail: "\(name), seed \(seed)"),
                         files: [MappedFile(emptyNamed: "<synthetic \(name)>")], config: config, tensors: tensors,
                         tokenizer: tokenizer(vocabSize: config.vocabSize))
    }

    static func generate(count: Int, cols: Int, seed: UInt64, norm: Bool) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            values[i] = norm ? 1 + 0.1 * rng.normal() : 0.02 * rng.normal()
        }
        if !norm {
            // About one outlier in 256 weights, 10-20 standard deviations out.
            for _ in 0..<(count / 256) {
                let i = Int(rng.next() % UInt64(count))
                values[i] = (rng.uniform() < 0.5 ? -1 : 1) * 0.02 * (10 + 10 * rng.uniform())
            }
        }
        return values.withUnsafeBytes { Array($0) }
    }

    /// A SentencePiece-style vocabulary: <unk>, BOS, EOS, the 256 byte pieces, printable ASCII,
    /// then space-prefixed letters and letter pairs, scored so that longer pieces merge first.
    public static func tokenizer(vocabSize: Int) -> TokenizerData {
        var pieces: [[UInt8]] = [Array("<unk>".utf8), Array("\n<s>\n".utf8), Array("\n</s>\n".utf8)]
        var scores: [Float] = [0, 0, 0]
        var types: [Int32] = [2, 3, 3]
        for b in 0..<256 {
            let hex = String(b, radix: 16, uppercase: true)
            pieces.append(Array("<0x\(hex.count == 1 ? "0" + hex : hex)>".utf8))
            scores.append(0)
            types.append(6)
        }
        var seen = Set(pieces)
        let letters = Array("etaoinshrdlucmfwypvbgkjqxz".utf8)
        var candidates: [[UInt8]] = (32..<127).map { [UInt8($0)] }
        candidates += letters.map { [0x20, $0] }
        for a in letters { for b in letters { candidates.append([a, b]) } }
        for a in letters { for b in letters { candidates.append([0x20, a, b]) } }
        var extra = 0
        while pieces.count < vocabSize {
            let piece: [UInt8]
            if extra < candidates.count {
                piece = candidates[extra]
            } else {
                // Beyond the generated set, pad with unique three-letter pieces.
                let k = extra - candidates.count
                piece = [letters[k % 26], letters[(k / 26) % 26], letters[(k / 676) % 26]] + Array(String(k / 17576).utf8)
            }
            extra += 1
            guard seen.insert(piece).inserted else { continue }
            pieces.append(piece)
            scores.append(piece.count == 1 ? -1000 : -Float(pieces.count))
            types.append(1)
        }
        return TokenizerData(kind: .sentencePiece, pieces: Array(pieces.prefix(vocabSize)), scores: Array(scores.prefix(vocabSize)),
                             tokenTypes: Array(types.prefix(vocabSize)))
    }
}
