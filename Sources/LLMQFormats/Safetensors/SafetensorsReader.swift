import LLMQCore

/// Reads Llama models stored as safetensors (`formats/safetensors.md`): a Hugging Face model
/// directory, a shard index, or a single file. Tensor names decide the layout: Hugging Face names
/// are mapped to canonical ones and their Q/K rows permuted lazily (a `decode` closure per tensor);
/// canonical (GGUF) names are taken as they are. The config comes from the `llmq.config` metadata
/// entry when present, else from `config.json` beside the weights.
public enum SafetensorsReader {
    public static let configKey = "llmq.config"

    /// True when `bytes` (a whole file) starts with a plausible header length followed by `{`.
    public static func looksLikeSafetensors(_ bytes: UnsafeRawBufferPointer) -> Bool {
        SafetensorsHeader.isPlausible(bytes)
    }

    public static func read(path: String) throws -> Model {
        let weights = HFDirectory.isDirectory(path) ? try HFDirectory.weightsFile(inDirectory: path) : path
        let archive = try SafetensorsArchive.open(weights)
        let first = archive.files.first?.path ?? weights
        let config = try readConfig(archive, weights: weights)
        // Every layer has several tensors. Checked before the expected tensors are listed, so a config
        // claiming millions of layers cannot make llmq build millions of names.
        guard config.layerCount <= archive.tensors.count else {
            throw LLMQError(.invalid, "the config's \(config.layerCount) layers cannot fit in the \(archive.tensors.count) tensors of the weights",
                            file: first)
        }
        var tokenizer: TokenizerData?
        do {
            tokenizer = try archive.metadata.first { $0.key == TokenizerMetadata.key }.map {
                try TokenizerMetadata.decode($0.value, vocabSize: config.vocabSize)
            }
        } catch let e as LLMQError { throw e.inFile(first) }
        if tokenizer != nil, let addsBOS = try HFTokenizerConfig.addsBOS(directory: HFDirectory.directory(of: weights)) {
            tokenizer?.addBOS = addsBOS
        }
        let layout = try Layout(archive, file: first)
        let (tensors, unused) = try canonicalTensors(archive, layout: layout, config: config)

        let userMetadata = archive.metadata.filter { $0.key != configKey && $0.key != TokenizerMetadata.key }
        let shards = archive.files.count > 1 ? ", \(archive.files.count) shards" : ""
        let model = try Model(format: FileFormat(name: "safetensors", detail: layout.description + shards), files: archive.files,
                              config: config, tensors: tensors, tokenizer: tokenizer, metadata: userMetadata,
                              regions: archive.regions + unused)
        do { try model.validateLlamaTensors() } catch let e as LLMQError { throw e.inFile(first) }
        return model
    }

    private static func readConfig(_ archive: SafetensorsArchive, weights: String) throws -> ModelConfig {
        if let embedded = archive.metadata.first(where: { $0.key == configKey })?.value {
            do { return try HFConfig.parse(try JSONParser.parse(embedded)) } catch let e as LLMQError {
                throw LLMQError(e.kind, "\(configKey): \(e.message)", file: archive.files.first?.path ?? weights)
            }
        }
        let beside = HFDirectory.directory(of: weights) + HFConfig.fileName
        guard HFDirectory.exists(beside) else {
            throw LLMQError(.invalid, "has no \(configKey) metadata and there is no \(HFConfig.fileName) beside it", file: weights)
        }
        return try HFConfig.read(path: beside)
    }

    /// The archive's tensors under canonical names, and the regions of stored tensors llmq does not use.
    private static func canonicalTensors(_ archive: SafetensorsArchive, layout: Layout,
                                         config: ModelConfig) throws -> (tensors: [Tensor], unused: [Region]) {
        var tensors: [Tensor] = []
        var unused: [Region] = []
        func skip(_ t: Tensor, _ why: String = "") {
            unused.append(Region(name: "unused tensor \(t.name)\(why)", offset: t.offset, length: t.storedByteCount, fileIndex: t.fileIndex))
        }
        for stored in archive.tensors {
            let file = archive.files[stored.fileIndex].path
            if layout == .huggingFace, HFTensorNames.isIgnorable(stored.name) {
                skip(stored)
                continue
            }
            guard let mapped = layout == .huggingFace ? HFTensorNames.canonical(hfName: stored.name) : (stored.name, nil) else {
                throw LLMQError(.unsupported, "is not a tensor of a Llama model", file: file, tensor: stored.name)
            }
            if mapped.name == CanonicalName.output && config.sharedClassifier {
                // Transformers ties the classifier to the embedding whatever the file holds.
                skip(stored, " (tie_word_embeddings)")
                continue
            }
            guard CanonicalName.isExpected(mapped.name, config) else {
                let classifier = config.sharedClassifier ? "shared" : "separate"
                throw LLMQError(.unsupported, "is not a tensor of this model (\(config.layerCount) layers, classifier \(classifier))",
                                file: file, tensor: stored.name)
            }
            var t = stored
            t.name = mapped.name
            if layout == .huggingFace, let heads = ropeHeads(mapped.layerTensor, config) {
                let headDim = config.headDim, rowBytes = t.rows > 0 ? t.byteCount / t.rows : 0
                let rows = t.rows
                t.encoding = "rope-permuted"
                t.storedRowOrder = .rotateHalf(headDim: headDim)
                t.decode = { try RopePermutation.apply($0, heads: heads, headDim: headDim, rowBytes: rowBytes, .toInterleaved) }
                t.stream = { stored, piece, sink in
                    let step = (piece + headDim - 1) / headDim * headDim
                    for start in stride(from: 0, to: rows, by: step) {
                        let end = min(rows, start + step)
                        try RopePermutation.apply(UnsafeRawBufferPointer(rebasing: stored[start * rowBytes..<end * rowBytes]),
                                                  heads: (end - start) / headDim, headDim: headDim, rowBytes: rowBytes, .toInterleaved)
                            .withUnsafeBytes(sink)
                    }
                }
            }
            tensors.append(t)
        }
        return (tensors, unused)
    }

    enum Layout: CustomStringConvertible {
        case huggingFace, canonical

        init(_ archive: SafetensorsArchive, file: String) throws {
            let names = Set(archive.tensors.map(\.name))
            if names.contains(HFTensorNames.embedding) {
                self = .huggingFace
            } else if names.contains(CanonicalName.tokenEmbedding) {
                self = .canonical
            } else {
                throw LLMQError(.unsupported, "has neither Hugging Face Llama tensor names (\(HFTensorNames.embedding)) nor llmq's canonical names (\(CanonicalName.tokenEmbedding))",
                                file: file)
            }
        }

        var description: String {
            self == .huggingFace ? "Hugging Face Llama" : "canonical names"
        }
    }

    /// Heads whose rows a Hugging Face Q or K projection stores in rotate-half order.
    static func ropeHeads(_ tensor: CanonicalName.LayerTensor?, _ c: ModelConfig) -> Int? {
        switch tensor {
        case .attnQ: c.headCount
        case .attnK: c.kvHeadCount
        default: nil
        }
    }
}
