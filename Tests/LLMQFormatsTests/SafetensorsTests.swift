import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

/// Runs `scripts/reference/hf_numpy.py` (numpy + the `safetensors` package, no llmq code).
@discardableResult
func hfNumpy(_ arguments: String...) throws -> Fixtures.Result {
    let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/hf_numpy.py").path
    let r = try Fixtures.run("/usr/bin/env", ["python3", script] + arguments)
    #expect(r.status == 0, "hf_numpy.py \(arguments.joined(separator: " ")): \(r.stdout)\(r.stderr)")
    return r
}

@Suite("safetensors and Hugging Face directories")
struct SafetensorsTests {
    static func stories() throws -> Model {
        try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
    }

    @Test("stories260K → HF directory: Python reads every tensor, the config and the tokenizer, and llmq reads it back bit-identical")
    func exportDirectory() throws {
        let dir = try Fixtures.scratch() + "/hf"
        let model = try Self.stories()
        try HFDirectory.write(model, to: dir)
        let check = try hfNumpy("check", Fixtures.stories260K, Fixtures.tok512, dir)
        #expect(check.stdout.contains("47 tensors bit-identical"))
        #expect(check.stdout.contains("laid out exactly as safetensors' writer lays them out"))
        #expect(check.stdout.contains("32 greedy tokens equal"))

        let back = try ModelFile.open(dir)
        #expect(back.format.name == "safetensors")
        #expect(back.config == model.config)
        #expect(back.tokenizer == model.tokenizer)
        #expect(back.metadata.map(\.key) == ["format"])
        try expectSameTensors(model, back)
        #expect(try back.tensor(CanonicalName.layer(0, .attnQ)).encoding == "rope-permuted")
        let report = ModelReport(back)
        #expect(report.totals.accountedBytes == report.fileBytes)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files == ["config.json", "generation_config.json", "model.safetensors"])
    }

    @Test("sharded export: shards of at most the limit, an index Python follows, and a later single-file export drops the index")
    func shardedExport() throws {
        let dir = try Fixtures.scratch() + "/hf"
        let model = try Self.stories()
        try HFDirectory.write(model, to: dir, maxShardBytes: 300_000)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(files.contains("model.safetensors.index.json"))
        let shards = files.filter { $0.hasPrefix("model-") }
        #expect(shards.count == 4, "\(files)")
        #expect(shards.last == "model-00004-of-00004.safetensors")
        try hfNumpy("check", Fixtures.stories260K, Fixtures.tok512, dir)
        let back = try ModelFile.open(dir)
        #expect(back.files.count == 4)
        #expect(back.format.detail == "Hugging Face Llama, 4 shards")
        #expect(back.tokenizer == model.tokenizer)
        #expect(back.metadata.contains { $0.key == "total_size" && $0.value == "1040128" })
        try expectSameTensors(model, back)
        // The embedding (131072 bytes) and every layer fit under the limit, so no shard exceeds it.
        for shard in back.files { #expect(shard.count < 300_000 + 20_000) }
        #expect(try ModelFile.open(dir + "/model.safetensors.index.json").files.count == 4)

        try HFDirectory.write(model, to: dir)
        #expect(!FileManager.default.fileExists(atPath: dir + "/model.safetensors.index.json"))
        try expectSameTensors(model, try ModelFile.open(dir))
    }

    @Test("a directory Python wrote reads bit-identical to the llama2.c checkpoint, config from config.json")
    func pythonDirectory() throws {
        let dir = try Fixtures.scratch() + "/hf"
        try hfNumpy("export", Fixtures.stories260K, dir)
        let original = try Llama2CReader.read(path: Fixtures.stories260K)
        let model = try ModelFile.open(dir)
        #expect(model.config == original.config)
        #expect(model.tokenizer == nil)
        try expectSameTensors(original, model)
    }

    @Test("f16 shards Python wrote read as the f16 rounding of every weight")
    func pythonHalfShards() throws {
        let dir = try Fixtures.scratch() + "/hf"
        try hfNumpy("export", Fixtures.stories260K, dir, "--dtype", "float16", "--shard-bytes", "200000")
        let original = try Llama2CReader.read(path: Fixtures.stories260K)
        let model = try ModelFile.open(dir)
        #expect(model.files.count == 3)
        for t in original.tensors {
            let half = try model.tensor(t.name)
            #expect(half.dtype == .f16)
            let expected = try Dequantize.tensor(original, t).map { Float(Float16($0)).bitPattern }
            #expect(try Dequantize.tensor(model, half).map(\.bitPattern) == expected, "\(t.name)")
        }
    }

    @Test("every dtype Python wrote reads with numpy's values, shapes and metadata")
    func pythonDTypes() throws {
        let dir = try Fixtures.scratch()
        try hfNumpy("samples", dir)
        let archive = try SafetensorsArchive.open(dir + "/dtypes.safetensors")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))) as? [String: Any])
        let expected = try #require(json["tensors"] as? [String: [String: Any]])
        #expect(Set(archive.tensors.map(\.name)) == Set(expected.keys))
        for t in archive.tensors {
            let e = try #require(expected[t.name])
            #expect(t.dtype.description == (e["dtype"] as? String)?.lowercased(), "\(t.name)")
            #expect(t.shape == e["shape"] as? [Int], "\(t.name)")
            let values = try #require(e["values"] as? [Double]).map { Float($0).bitPattern }
            var got = [Float](repeating: 0, count: t.elementCount)
            if !got.isEmpty {
                try got.withUnsafeMutableBufferPointer {
                    try Dequantize.elements(t.dtype, from: archive.data(t), range: 0..<t.elementCount, into: $0.baseAddress!)
                }
            }
            #expect(got.map(\.bitPattern) == values, "\(t.name)")
        }
        let metadata = try #require(json["metadata"] as? [String: String])
        #expect(Dictionary(uniqueKeysWithValues: archive.metadata.map { ($0.key, $0.value) }) == metadata)

        let sharded = try SafetensorsArchive.open(dir + "/m.safetensors.index.json")
        #expect(sharded.files.count == 2)
        #expect(sharded.tensors.map(\.name) == ["a.weight", "b.weight", "c.weight"])
        #expect(sharded.tensors.map(\.fileIndex) == [0, 0, 1])
        #expect(sharded.metadata.contains { $0.key == "total_size" && $0.value == "36" })
        let c = try #require(sharded.tensors.last)
        let bytes = try sharded.data(c)
        #expect(Array(bytes.bindMemory(to: Float.self)) == [-1, 1])
        withExtendedLifetime(sharded) {}
    }

    @Test("single files: Hugging Face or canonical names, config and tokenizer in the metadata, read back bit-identical",
          arguments: [SafetensorsWriter.Layout.huggingFace, .canonical])
    func singleFile(layout: SafetensorsWriter.Layout) throws {
        let path = try Fixtures.scratch() + "/model.safetensors"
        let model = try Self.stories()
        try SafetensorsWriter.write(model, to: path, options: .init(layout: layout))
        let back = try ModelFile.open(path)
        #expect(back.format.detail == (layout == .canonical ? "canonical names" : "Hugging Face Llama"))
        #expect(back.config == model.config)
        #expect(back.tokenizer == model.tokenizer)
        #expect(back[CanonicalName.layer(0, .attnQ)]?.encoding == (layout == .canonical ? nil : "rope-permuted"))
        try expectSameTensors(model, back)
        // A copy of the canonical file is byte-identical: nothing depends on the source format.
        let again = path + ".2.safetensors"
        try SafetensorsWriter.write(back, to: again, options: .init(layout: layout))
        #expect(try Fixtures.read(again) == Fixtures.read(path))

        // Sharded, the config and tokenizer travel in the first shard and the index names the rest.
        try SafetensorsWriter.write(model, to: path, options: .init(layout: layout, maxShardBytes: 400_000))
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let shards = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix("model-") }.sorted()
        #expect(shards == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors"])
        #expect(!FileManager.default.fileExists(atPath: path))
        let sharded = try ModelFile.open(path + ".index.json")
        #expect(sharded.config == model.config && sharded.tokenizer == model.tokenizer)
        try expectSameTensors(model, sharded)
    }

    @Test("GQA with a separate classifier and grouped heads survives the HF layout, sharded or not")
    func separateClassifier() throws {
        var c = try #require(SyntheticModel.shape(named: "stories260K")).config
        c.sharedClassifier = false
        c.layerCount = 2
        c.ropeTheta = 100_000
        c.normEpsilon = 1e-6
        let model = try SyntheticModel.make(config: c, seed: 11)
        for shards in [nil, 100_000] as [Int?] {
            let dir = try Fixtures.scratch() + "/hf"
            try HFDirectory.write(model, to: dir, maxShardBytes: shards)
            let back = try ModelFile.open(dir)
            #expect(back.config == c)
            #expect(back[CanonicalName.output] != nil)
            try expectSameTensors(model, back)
        }
    }

    @Test("f16 and bf16 exports round every weight to nearest even", arguments: [DType.f16, .bf16])
    func halfExport(type: DType) throws {
        let dir = try Fixtures.scratch() + "/hf"
        let model = try Self.stories()
        try HFDirectory.write(model, to: dir, floatType: type)
        let config = try String(contentsOfFile: dir + "/config.json", encoding: .utf8)
        #expect(config.contains("\"torch_dtype\": \"\(type == .f16 ? "float16" : "bfloat16")\""))
        let back = try ModelFile.open(dir)
        for t in model.tensors {
            let stored = try back.tensor(t.name)
            #expect(stored.dtype == type)
            let expected = try Dequantize.tensor(model, t).map { type == .f16 ? Float(Float16($0)) : Self.nearestBFloat16($0) }
            #expect(try Dequantize.tensor(back, stored).map(\.bitPattern) == expected.map(\.bitPattern), "\(t.name)")
        }
    }

    @Test("quantized tensors (llama2.c int8 groups) are written as their f32 values")
    func quantizedSource() throws {
        let dir = try Fixtures.scratch()
        try Llama2CWriter.write(try Self.stories(), to: dir + "/q.bin", version: 2)
        let q = try Llama2CReader.read(path: dir + "/q.bin")
        try HFDirectory.write(q, to: dir + "/hf")
        let back = try ModelFile.open(dir + "/hf")
        #expect(try back.tensor(CanonicalName.layer(2, .ffnDown)).dtype == .f32)
        try expectSameTensors(q, back)
    }

    /// The bfloat16 value nearest to x (ties to the even mantissa), found by comparing both neighbours.
    static func nearestBFloat16(_ x: Float) -> Float {
        let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000)
        let up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) + 0x1_0000)
        let dDown = abs(Double(x) - Double(down)), dUp = abs(Double(x) - Double(up))
        if dDown != dUp { return dDown < dUp ? down : up }
        return (down.bitPattern >> 16) & 1 == 0 ? down : up
    }

    @Test("RoPE permutation: a worked head, and the two directions undo each other")
    func permutation() throws {
        // One head of 4 rows: HF row j·2 + i holds canonical row 2i + j → canonical order [0, 2, 1, 3].
        let rows: [UInt8] = [0, 1, 2, 3]
        let hf = try rows.withUnsafeBytes { try RopePermutation.apply($0, heads: 1, headDim: 4, rowBytes: 1, .toRotateHalf) }
        #expect(hf == [0, 2, 1, 3])
        let wide = (0..<(3 * 8 * 5)).map { UInt8($0 % 251) }
        let there = try wide.withUnsafeBytes { try RopePermutation.apply($0, heads: 3, headDim: 8, rowBytes: 5, .toRotateHalf) }
        #expect(there != wide)
        #expect(try there.withUnsafeBytes { try RopePermutation.apply($0, heads: 3, headDim: 8, rowBytes: 5, .toInterleaved) } == wide)
        #expect(throws: LLMQError.self) { try wide.withUnsafeBytes { try RopePermutation.apply($0, heads: 3, headDim: 8, rowBytes: 4, .toInterleaved) } }
    }

    @Test("byte-level BPE tokenizers with merges, non-UTF-8 pieces and infinite scores survive the metadata exactly")
    func tokenizerCarriage() throws {
        var c = try #require(SyntheticModel.shape(named: "stories260K")).config
        c.layerCount = 1
        let model = try SyntheticModel.make(config: c, seed: 3)
        var tok = try #require(model.tokenizer)
        tok.kind = .byteLevelBPE
        tok.pieces[3] = [0xFF, 0x41, 0x00]
        tok.pieces[4] = Array("\"\\\n\u{1}é😀".utf8)
        tok.scores[5] = -.infinity
        tok.scores[6] = .leastNonzeroMagnitude
        tok.scores[7] = 0.1
        tok.merges = ["Ġ t", "h e", "Ġt he"]
        tok.unknownID = nil
        tok.addBOS = false
        tok.preTokenizer = "smollm"
        model.tokenizer = tok
        let path = try Fixtures.scratch() + "/m.safetensors"
        try SafetensorsWriter.write(model, to: path, options: .init(layout: .canonical))
        #expect(try ModelFile.open(path).tokenizer == tok)
    }

    @Test("writing over the model being read is refused before anything is written")
    func refusesInput() throws {
        let dir = try Fixtures.scratch() + "/hf"
        try HFDirectory.write(try Self.stories(), to: dir)
        let model = try ModelFile.open(dir)
        let before = try Fixtures.read(dir + "/model.safetensors")
        #expect(throws: LLMQError.self) { try HFDirectory.write(model, to: dir) }
        #expect(try Fixtures.read(dir + "/model.safetensors") == before)
    }
}
