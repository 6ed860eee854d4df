import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

@Suite("GGUF files")
struct GGUFTests {
    @Test("stories260K.gguf reads with its config, tokenizer and every byte accounted for")
    func readStories() throws {
        let model = try ModelFile.open(Fixtures.stories260KGGUF)
        #expect(model.format.name == "gguf" && model.format.version == 3)
        let c = model.config
        let fields: [Int] = [c.dim, c.hiddenDim, c.layerCount, c.headCount, c.kvHeadCount, c.vocabSize, c.contextLength]
        #expect(fields == [64, 172, 5, 8, 4, 512, 2048])
        #expect(!c.sharedClassifier)
        #expect(c.ropeTheta == Float(10000))
        #expect(c.normEpsilon == Float(1e-5))
        #expect(model.tensors.count == 48)
        let tok = try #require(model.tokenizer)
        #expect(tok.kind == .sentencePiece && tok.count == 512 && tok.bosID == 1 && tok.eosID == 2 && tok.addBOS)
        #expect(String(decoding: tok.pieces[410], as: UTF8.self) == "▁")
        let report = ModelReport(model)
        #expect(report.totals.accountedBytes == report.fileBytes)
        #expect(report.metadata["tokenizer.ggml.tokens"]?.hasPrefix("[512 × string]") == true)
        #expect(try model.tensor(CanonicalName.tokenEmbedding).offset == 14176)
    }

    @Test("stories260K.gguf and stories260K.bin hold the same tensors (GGUF's output is the embedding)")
    func sameModelAsBin() throws {
        let gguf = try ModelFile.open(Fixtures.stories260KGGUF)
        let bin = try ModelFile.open(Fixtures.stories260K)
        for t in bin.tensors {
            #expect(try Dequantize.tensor(bin, t) == Dequantize.tensor(gguf, named: t.name), "\(t.name)")
        }
        #expect(try Dequantize.tensor(gguf, named: CanonicalName.output) == Dequantize.tensor(bin, named: CanonicalName.tokenEmbedding))
        // The vocabularies agree but for BOS/EOS, which llama2.c spells "\n<s>\n" and "\n</s>\n".
        let a = try #require(gguf.tokenizer), b = try Llama2CTokenizerFile.read(path: Fixtures.tok512)
        #expect(a.scores == b.scores)
        let spaced = a.pieces.map { String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "▁", with: " ") }
        #expect(zip(spaced, b.pieces).filter { Array($0.utf8) != $1 }.count == 2)
    }

    @Test("bin → gguf → bin keeps every tensor and byte")
    func roundTripThroughGGUF() throws {
        let dir = try Fixtures.scratch()
        let bin = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
        try GGUFWriter.write(bin, to: dir + "/m.gguf")
        let gguf = try ModelFile.open(dir + "/m.gguf")
        #expect(gguf.config == bin.config)
        #expect(gguf[CanonicalName.output] == nil)
        try expectSameTensors(bin, gguf)
        #expect(ModelReport(gguf).totals.accountedBytes == ModelReport(gguf).fileBytes)
        // tok512 has no token types; the derived ones are those of the published stories260K.gguf.
        let tok = try #require(gguf.tokenizer)
        let published = try #require(try ModelFile.open(Fixtures.stories260KGGUF).tokenizer)
        #expect(tok.scores == bin.tokenizer?.scores && tok.count == 512)
        #expect(tok.tokenTypes == published.tokenTypes)
        #expect(Array(tok.pieces[3...]) == Array(published.pieces[3...]))

        // The detour through GGUF changes no byte of what llmq writes for the .bin (whose RoPE tables
        // llmq recomputes; Llama2CTests covers those).
        try Llama2CWriter.write(gguf, to: dir + "/back.bin", version: 0)
        try Llama2CWriter.write(bin, to: dir + "/direct.bin", version: 0)
        #expect(try Fixtures.read(dir + "/back.bin") == Fixtures.read(dir + "/direct.bin"))
    }

    @Test("bin → Hugging Face directory → gguf → bin keeps every tensor bit-identical")
    func roundTripThroughHuggingFace() throws {
        let dir = try Fixtures.scratch()
        let bin = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
        try HFDirectory.write(bin, to: dir + "/hf")
        try GGUFWriter.write(try ModelFile.open(dir + "/hf"), to: dir + "/m.gguf")
        let gguf = try ModelFile.open(dir + "/m.gguf")
        #expect(gguf.config == bin.config)
        #expect(gguf.tokenizer?.scores == bin.tokenizer?.scores)
        try expectSameTensors(bin, gguf)
        try Llama2CWriter.write(gguf, to: dir + "/back.bin", version: 0)
        try expectSameTensors(bin, try ModelFile.open(dir + "/back.bin"))
    }

    @Test("gguf → gguf copies tensors, config and vocabulary unchanged")
    func copyGGUF() throws {
        let dir = try Fixtures.scratch()
        let original = try ModelFile.open(Fixtures.stories260KGGUF)
        try GGUFWriter.write(original, to: dir + "/copy.gguf")
        let copy = try ModelFile.open(dir + "/copy.gguf")
        #expect(copy.config == original.config)
        #expect(copy.tokenizer == original.tokenizer)
        try expectSameTensors(original, copy)
        #expect(throws: LLMQError.self) { try GGUFWriter.write(copy, to: dir + "/copy.gguf") }
    }

    @Test("gguf-py reads what llmq writes: every key, type, value, shape and tensor byte")
    func pythonReadsOurFile() throws {
        let dir = try Fixtures.scratch()
        let bin = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
        try GGUFWriter.write(bin, to: dir + "/m.gguf")
        try expectPythonAgrees(dir + "/m.gguf", dir: dir)
    }

    @Test("f16, q8_0, q4_0 and q4_1 tensors are written as their ggml types, byte for byte")
    func quantizedPassThrough() throws {
        let dir = try Fixtures.scratch()
        let model = try Self.mixedModel()
        try GGUFWriter.write(model, to: dir + "/q.gguf")
        let back = try ModelFile.open(dir + "/q.gguf")
        for t in model.tensors {
            let u = try back.tensor(t.name)
            #expect(u.dtype == t.dtype, "\(t.name)")
            #expect(Array(try back.data(u)) == Array(try model.data(t)), "\(t.name)")
        }
        try expectPythonAgrees(dir + "/q.gguf", dir: dir)
    }

    @Test("a byte-level BPE vocabulary keeps its merges and flags; a missing pre-tokenizer is written as gpt-2")
    func byteLevelVocabulary() throws {
        let dir = try Fixtures.scratch()
        let model = try Self.mixedModel()
        let pieces = (0..<300).map { Array("t\($0)".utf8) }
        model.tokenizer = TokenizerData(kind: .byteLevelBPE, pieces: pieces, scores: [Float](repeating: 0, count: 300),
                                        tokenTypes: [3] + [Int32](repeating: 1, count: 299), merges: ["t 1", "t1 0"],
                                        bosID: 0, eosID: 0, unknownID: nil, addBOS: false, preTokenizer: nil)
        try GGUFWriter.write(model, to: dir + "/bpe.gguf")
        let back = try #require(try ModelFile.open(dir + "/bpe.gguf").tokenizer)
        var expected = try #require(model.tokenizer)
        expected.preTokenizer = "gpt-2"
        #expect(back == expected)
        let file = try Fixtures.read(dir + "/bpe.gguf").withUnsafeBytes { try GGUFFile($0) }
        #expect(file["tokenizer.ggml.scores"] == nil && file["tokenizer.ggml.unknown_token_id"] == nil)
    }

    @Test("dtypes GGUF has no type for (llama2.c int8 groups) are written as f32")
    func expandsOtherDTypes() throws {
        let dir = try Fixtures.scratch()
        try Llama2CWriter.write(try ModelFile.open(Fixtures.stories260K), to: dir + "/q.bin", version: 2)
        let q = try ModelFile.open(dir + "/q.bin")
        try GGUFWriter.write(q, to: dir + "/q.gguf")
        let gguf = try ModelFile.open(dir + "/q.gguf")
        #expect(gguf.tensors.allSatisfy { $0.dtype == .f32 })
        try expectSameTensors(q, gguf)
    }

    /// A two-layer model whose matrices are f16, q8_0, q4_0 and q4_1 blocks of random bytes with
    /// finite scales, and f32 norms.
    static func mixedModel() throws -> Model {
        let c = ModelConfig(dim: 64, hiddenDim: 128, layerCount: 2, headCount: 8, kvHeadCount: 4, vocabSize: 300, contextLength: 64)
        var rng = SplitMix64(seed: 5)
        let tensors = CanonicalName.expectedTensors(c).map { name, shape -> Tensor in
            let dtype: DType = CanonicalName.isNorm(name) ? .f32 : name.contains("ffn") ? .q4_1 : name.contains("attn_q") ? .q4_0
                : name == CanonicalName.tokenEmbedding ? .q8_0 : .f16
            let count = dtype.byteCount(shape: shape)!
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let scale = Float16(0.01).bitPattern
            if dtype == .f32 || dtype == .f16 {
                let width = dtype.blockBytes
                bytes = (0..<count / width).flatMap { _ -> [UInt8] in
                    let v = Float.random(in: -1...1, using: &rng)
                    return width == 4 ? withUnsafeBytes(of: v.bitPattern) { Array($0) } : withUnsafeBytes(of: Float16(v).bitPattern) { Array($0) }
                }
            } else {
                // fp16 scale (and minimum for q4_1) at the start of each block.
                for b in stride(from: 0, to: count, by: dtype.blockBytes) {
                    bytes[b] = UInt8(scale & 0xFF); bytes[b + 1] = UInt8(scale >> 8)
                    if dtype == .q4_1 { bytes[b + 2] = UInt8(scale & 0xFF); bytes[b + 3] = UInt8(scale >> 8) }
                }
            }
            let data = bytes
            return Tensor(name: name, shape: shape, dtype: dtype, offset: 0, storedByteCount: 0, encoding: "generated") { _ in data }
        }
        return try Model(format: FileFormat(name: "synthetic"), files: [MappedFile(emptyNamed: "<mixed>")], config: c,
                         tensors: tensors, tokenizer: SyntheticModel.tokenizer(vocabSize: 300))
    }
}

/// Dumps `path` with gguf-py and checks that it sees exactly what llmq's reader sees.
func expectPythonAgrees(_ path: String, dir: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/gguf_dump.py").path
    let r = try Fixtures.run("/usr/bin/env", ["python3", script, path, dir + "/dump.json", dir + "/dump.bin"])
    try #require(r.status == 0, "\(r.stderr)", sourceLocation: sourceLocation)
    let dump = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/dump.json"))) as? [String: Any])
    let bytes = try Fixtures.read(path)
    let file = try bytes.withUnsafeBytes { try GGUFFile($0) }
    #expect(dump["alignment"] as? Int == file.alignment && dump["data_offset"] as? Int == file.dataOffset, sourceLocation: sourceLocation)

    let fields = try #require(dump["fields"] as? [[String: Any]])
    #expect(fields.map { $0["key"] as? String } == file.metadata.map(\.key), sourceLocation: sourceLocation)
    for (field, entry) in zip(fields, file.metadata) {
        var types = [entry.value.type]
        if case .array(let element, _) = entry.value { types.append(element) }
        #expect(field["types"] as? [String] == types.map(pythonName), "\(entry.key)", sourceLocation: sourceLocation)
        #expect(sameValue(entry.value, field["value"] as Any), "\(entry.key)", sourceLocation: sourceLocation)
    }

    let tensors = try #require(dump["tensors"] as? [[String: Any]])
    let raw = try Fixtures.read(dir + "/dump.bin")
    var position = 0
    #expect(tensors.count == file.tensors.count, sourceLocation: sourceLocation)
    for (t, info) in zip(tensors, file.tensors) {
        #expect(t["name"] as? String == info.name && t["shape"] as? [Int] == info.shape, sourceLocation: sourceLocation)
        #expect(t["offset"] as? Int == info.offset && t["bytes"] as? Int == info.byteCount, "\(info.name)", sourceLocation: sourceLocation)
        #expect(t["type"] as? String == info.dtype.name.uppercased(), "\(info.name)", sourceLocation: sourceLocation)
        #expect(Array(raw[position..<(position + info.byteCount)]) == Array(bytes[info.offset..<(info.offset + info.byteCount)]),
                "\(info.name) bytes", sourceLocation: sourceLocation)
        position += info.byteCount
    }
}

private func pythonName(_ t: GGUFValueType) -> String {
    ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"][Int(t.rawValue)]
}

/// GGUFValue against the JSON gguf-py's `contents()` produced (arrays of arrays come out flattened).
private func sameValue(_ v: GGUFValue, _ json: Any) -> Bool {
    switch v {
    case .string: return (json as? String) == v.string
    case .array(_, let items):
        guard let list = json as? [Any], list.count == items.count else { return false }
        return zip(items, list).allSatisfy { sameValue($0, $1) }
    case .float32(let f): return (json as? NSNumber).map { Float($0.doubleValue) == f } ?? false
    case .float64(let d): return (json as? NSNumber)?.doubleValue == d
    case .bool(let b): return (json as? NSNumber)?.boolValue == b
    case .uint64(let u): return (json as? NSNumber)?.uint64Value == u
    default: return (json as? NSNumber)?.int64Value == v.int.map(Int64.init)
    }
}

@Suite("SmolLM2 GGUF", .smolLM2)
struct SmolLM2GGUFTests {
    @Test("SmolLM2 rewritten by llmq keeps its Q4_1/Q8_0 bytes, config and GPT-2 vocabulary, and gguf-py agrees")
    func rewrite() throws {
        let dir = try Fixtures.scratch()
        let original = try ModelFile.open(try Fixtures.smolLM2())
        try GGUFWriter.write(original, to: dir + "/copy.gguf")
        let copy = try ModelFile.open(dir + "/copy.gguf")
        #expect(copy.config == original.config)
        #expect(copy.tokenizer == original.tokenizer)
        for t in original.tensors {
            let u = try copy.tensor(t.name)
            #expect(u.dtype == t.dtype && u.shape == t.shape, "\(t.name)")
            #expect(try copy.data(u).elementsEqual(try original.data(t)), "\(t.name)")
        }
        try expectPythonAgrees(dir + "/copy.gguf", dir: dir)
    }
}
