#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LLMQCore

/// Deterministic random Llama models of real shapes, for tests and benchmarks. Tensors are generated
/// when first read, so any writer can stream a synthetic model to disk in bounded memory.
public enum SyntheticModel {
    public struct Shape: Sendable {
        public var name: String
        public var config: ModelConfig
    }

    /// Shapes of public models (weights random): llama2.c's tinyllamas, SmolLM2-135M and Llama-2-7B.
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
        // Llama-2-7B: 6.7 B parameters, a classifier of its own.
        Shape(name: "llama2-7B", config: ModelConfig(dim: 4096, hiddenDim: 11008, layerCount: 32, headCount: 32, kvHeadCount: 32,
                                                      vocabSize: 32000, contextLength: 4096, sharedClassifier: false)),
    ]

    public static func shape(named name: String) -> Shape? {
        shapes.first { $0.name.lowercased() == name.lowercased() }
    }

    /// A model whose matrices are N(0, 0.02²) with a few large outliers per row (as trained models
    /// have), norms near 1, and a tokenizer of `config.vocabSize` pieces. Each tensor is generated
    /// when read, whole (`Model.data`) or a few rows at a time on every core (`Model.stream`), with
    /// the same values either way.
    public static func make(config: ModelConfig, seed: UInt64, name: String = "synthetic") throws -> Model {
        try config.validate()
        let tensors = CanonicalName.expectedTensors(config).enumerated().map { index, entry in
            let count = entry.shape.reduce(1, *), tensorSeed = seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15
            let norm = CanonicalName.isNorm(entry.name), cols = entry.shape.last ?? 1
            // Generators (their outliers) are made when a tensor is read, not here: a 7B shape's are 400 MB.
            return Tensor(name: entry.name, shape: entry.shape, dtype: .f32, offset: 0, storedByteCount: 0, encoding: "generated",
                          decode: { _ in Generator(count: count, seed: tensorSeed, norm: norm).bytes(0..<count) },
                          stream: { _, rows, sink in
                              let generator = Generator(count: count, seed: tensorSeed, norm: norm)
                              let step = rows * cols
                              var buffer = [UInt8](repeating: 0, count: 4 * min(step, generator.count))
                              var start = 0
                              while start < generator.count {
                                  let end = min(generator.count, start + step)
                                  try buffer.withUnsafeMutableBytes { raw in
                                      generator.fill(start..<end, into: raw.baseAddress!.assumingMemoryBound(to: Float.self), parallel: true)
                                      try sink(UnsafeRawBufferPointer(rebasing: raw[0..<4 * (end - start)]))
                                  }
                                  start = end
                              }
                          })
        }
        return try Model(format: FileFormat(name: "synthetic", detail: "\(name), seed \(seed)"),
                         files: [MappedFile(emptyNamed: "<synthetic \(name)>")], config: config, tensors: tensors,
                         tokenizer: tokenizer(vocabSize: config.vocabSize))
    }

    /// One tensor's values: element i is drawn from a SplitMix64 stream at its 2i-th step (Box–Muller
    /// takes two uniforms), so any range is generated without the ones before it; then about one
    /// element in 256 becomes an outlier 10–20 standard deviations out, the later draw winning
    /// where two land on the same element.
    struct Generator: Sendable {
        let count: Int
        let seed: UInt64
        let norm: Bool
        /// Outliers by element index, ascending.
        private let outliers: [(index: Int, value: Float)]
        static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

        init(count: Int, seed: UInt64, norm: Bool) {
            self.count = count
            self.seed = seed
            self.norm = norm
            guard !norm, count > 0 else {
                outliers = []
                return
            }
            var rng = SplitMix64(seed: seed &+ UInt64(2 * count) &* Self.gamma)
            var drawn: [(index: Int, value: Float)] = []
            drawn.reserveCapacity(count / 256)
            for _ in 0..<(count / 256) {
                let i = Int(rng.next() % UInt64(count))
                let value = (rng.uniform() < 0.5 ? -1 : 1) * 0.02 * (10 + 10 * rng.uniform())
                drawn.append((i, value))
            }
            // Sorted by index, draw order kept among equals; then the last of each index stays.
            let order = drawn.indices.sorted { drawn[$0].index != drawn[$1].index ? drawn[$0].index < drawn[$1].index : $0 < $1 }
            var kept: [(index: Int, value: Float)] = []
            kept.reserveCapacity(order.count)
            for k in order {
                if let last = kept.last, last.index == drawn[k].index { kept[kept.count - 1] = drawn[k] } else { kept.append(drawn[k]) }
            }
            outliers = kept
        }

        /// Elements `range` into `out`; with `parallel`, large ranges are split across the cores.
        func fill(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>, parallel: Bool = false) {
            let parts = parallel && range.count >= 1 << 16 ? ProcessInfo.processInfo.activeProcessorCount : 1
            if parts > 1 {
                let shared = SendablePointer(out)
                DispatchQueue.concurrentPerform(iterations: parts) { p in
                    let lower = range.lowerBound + range.count * p / parts, upper = range.lowerBound + range.count * (p + 1) / parts
                    fill(lower..<upper, into: shared.pointer + (lower - range.lowerBound))
                }
                return
            }
            var rng = SplitMix64(seed: seed &+ UInt64(2 * range.lowerBound) &* Self.gamma)
            for i in 0..<range.count {
                out[i] = norm ? 1 + 0.1 * rng.normal() : 0.02 * rng.normal()
            }
            var k = firstOutlier(atOrAfter: range.lowerBound)
            while k < outliers.count, outliers[k].index < range.upperBound {
                out[outliers[k].index - range.lowerBound] = outliers[k].value
                k += 1
            }
        }

        func bytes(_ range: Range<Int>) -> [UInt8] {
            [UInt8](unsafeUninitializedCapacity: 4 * range.count) { buffer, initialized in
                if range.count > 0 {
                    fill(range, into: UnsafeMutableRawPointer(buffer.baseAddress!).bindMemory(to: Float.self, capacity: range.count),
                         parallel: true)
                }
                initialized = 4 * range.count
            }
        }

        private func firstOutlier(atOrAfter index: Int) -> Int {
            var lo = 0, hi = outliers.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if outliers[mid].index < index { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
    }

    private struct SendablePointer: @unchecked Sendable {
        let pointer: UnsafeMutablePointer<Float>
        init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
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
