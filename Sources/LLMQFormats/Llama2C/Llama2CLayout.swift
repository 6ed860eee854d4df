import LLMQCore

/// llama2.c checkpoint layouts (`formats/llama2c.md`). The three versions store the same tensors,
/// each as one block holding that tensor for every layer, in different orders.
enum Llama2CLayout {
    static let magic: UInt32 = 0x616b_3432  // "ak42"
    static let legacyHeaderBytes = 7 * 4
    static let headerBytes = 256

    /// Tensors that are stored for all layers back to back, in the order `version` writes them.
    /// For version 2 the list is split: fp32 norms first, then the int8-quantized matrices.
    static func order(version: Int, config c: ModelConfig) -> [(name: String, shape: [Int])] {
        typealias T = CanonicalName.LayerTensor
        func all(_ t: T) -> [(String, [Int])] {
            (0..<c.layerCount).map { (CanonicalName.layer($0, t), t.shape(c)) }
        }
        let embedding = (CanonicalName.tokenEmbedding, [c.vocabSize, c.dim])
        let finalNorm = (CanonicalName.outputNorm, [c.dim])
        let classifier = c.sharedClassifier ? [] : [(CanonicalName.output, [c.vocabSize, c.dim])]
        let matrices = [T.attnQ, .attnK, .attnV, .attnOutput, .ffnGate, .ffnDown, .ffnUp].flatMap(all)
        switch version {
        case 0:
            // run.c's memory_map_weights order; the RoPE tables sit between the final norm and the classifier.
            return [embedding] + all(.attnNorm) + [T.attnQ, .attnK, .attnV, .attnOutput].flatMap(all)
                + all(.ffnNorm) + [T.ffnGate, .ffnDown, .ffnUp].flatMap(all) + [finalNorm] + classifier
        default:
            // export.py version1/version2: norms first, then embedding and matrices.
            return all(.attnNorm) + all(.ffnNorm) + [finalNorm, embedding] + matrices + classifier
        }
    }

    /// Floats in each of the two RoPE tables that legacy files carry after the final norm (unused on read).
    static func ropeTableFloats(_ c: ModelConfig) -> Int { c.contextLength * c.headDim / 2 }
}
