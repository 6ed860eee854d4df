import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

/// Writing and reading llmq containers (`formats/llmq.md`) with real models.
@Suite("llmq container")
struct ContainerTests {
    static func stories() throws -> Model {
        try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512)
    }

    static func write(_ model: Model, to path: String, zstd: Int? = nil, threads: Int? = nil) throws -> LLMQContainerWriter.Result {
        try LLMQContainerWriter.write(model, to: path, options: .init(zstdLevel: zstd, threads: threads)) {
            ContainerMetadata(config: model.config, created: .init(command: "test"), source: try .init(of: model))
        }
    }

    @Test("stories260K → container keeps every tensor bit-identical, the config and the tokenizer", arguments: [nil, 3] as [Int?])
    func roundTrip(zstd: Int?) throws {
        let dir = try Fixtures.scratch()
        let original = try Self.stories()
        let result = try Self.write(original, to: dir + "/m.llmq", zstd: zstd)
        let file = try LLMQContainerReader.open(path: dir + "/m.llmq")
        let copy = file.model
        #expect(copy.format.name == "llmq")
        #expect(copy.config == original.config)
        #expect(copy.tokenizer == original.tokenizer)
        #expect(copy.tensors.map(\.name) == original.tensors.map(\.name))
        try expectSameTensors(original, copy)
        #expect(file.entries == result.entries)
        for e in file.entries {
            #expect(e.offset % 64 == 0, "\(e.name) is not 64-byte aligned")
            #expect(e.rawLength == e.shape.reduce(4, *))
            if zstd == nil { #expect(e.compression == .none && e.storedLength == e.rawLength) }
            if e.compression == .zstd { #expect(e.storedLength < e.rawLength) }
        }
        if zstd != nil { #expect(file.entries.contains { $0.compression == .zstd }) }
        let source = try #require(file.metadata.source)
        #expect(source.files == [.init(name: "stories260K.bin", bytes: 1_056_540, xxh64: XXH64.hex(XXH64.hash(try Fixtures.read(Fixtures.stories260K))))])
        let report = ModelReport(copy)
        #expect(report.totals.accountedBytes == report.fileBytes)
        #expect(ContainerCheck.run(path: dir + "/m.llmq").ok)
    }

    @Test("uncompressed tensors are used in place from the memory map")
    func mapped() throws {
        let dir = try Fixtures.scratch()
        _ = try Self.write(try Self.stories(), to: dir + "/m.llmq")
        let model = try LLMQContainerReader.read(path: dir + "/m.llmq")
        let t = try model.tensor(CanonicalName.tokenEmbedding)
        let data = try model.data(t)
        #expect(data.baseAddress == model.files[0].bytes.baseAddress! + t.offset)
        #expect(Int(bitPattern: data.baseAddress) % 64 == 0)
    }

    @Test("the same model and options give the same bytes, whatever the number of zstd threads")
    func deterministic() throws {
        let dir = try Fixtures.scratch()
        _ = try Self.write(try Self.stories(), to: dir + "/a.llmq", zstd: 5, threads: 1)
        _ = try Self.write(try Self.stories(), to: dir + "/b.llmq", zstd: 5, threads: 3)
        #expect(try Fixtures.read(dir + "/a.llmq") == Fixtures.read(dir + "/b.llmq"))
    }

    @Test("llama2.c int8 groups (q8_l2c) are stored as they are and dequantize identically")
    func llama2cGroups() throws {
        let dir = try Fixtures.scratch()
        try Llama2CWriter.write(try Self.stories(), to: dir + "/q.bin", version: 2, groupSize: 64)
        let q = try Llama2CReader.read(path: dir + "/q.bin")
        _ = try Self.write(q, to: dir + "/q.llmq")
        let back = try LLMQContainerReader.read(path: dir + "/q.llmq")
        #expect(try back.tensor(CanonicalName.layer(0, .ffnDown)).dtype == DType(Q8_L2C.self, blockSize: 64))
        try expectSameTensors(q, back)
    }

    @Test("f16 tensors and a byte-level BPE tokenizer with merges round-trip")
    func f16AndBPE() throws {
        var c = SyntheticModel.shape(named: "stories260K")!.config
        c.layerCount = 1
        c.vocabSize = 300
        let synthetic = try SyntheticModel.make(config: c, seed: 3)
        // The same model with every matrix in f16.
        let tensors = synthetic.tensors.map { t -> Tensor in
            guard t.shape.count == 2 else { return t }
            return Tensor(name: t.name, shape: t.shape, dtype: .f16, offset: 0, storedByteCount: 0) { _ in
                try Dequantize.tensor(synthetic, t).flatMap { v in withUnsafeBytes(of: Float16(v).bitPattern) { Array($0) } }
            }
        }
        let pieces = (0..<300).map { i in Array("tok\(i)".utf8) + (i == 7 ? [0xFF] : []) }
        let bpe = TokenizerData(kind: .byteLevelBPE, pieces: pieces, scores: (0..<300).map { -Float($0) },
                                tokenTypes: (0..<300).map { $0 < 3 ? 3 : 1 }, merges: ["t o", "to k", "Ġ a"],
                                bosID: 0, eosID: 1, unknownID: nil, addBOS: false, preTokenizer: "smollm")
        let model = try Model(format: synthetic.format, files: synthetic.files, config: c, tensors: tensors, tokenizer: bpe)
        let dir = try Fixtures.scratch()
        _ = try Self.write(model, to: dir + "/h.llmq", zstd: 1)
        let back = try LLMQContainerReader.read(path: dir + "/h.llmq")
        #expect(back.tokenizer == bpe)
        #expect(try back.tensor(CanonicalName.layer(0, .attnQ)).dtype == .f16)
        try expectSameTensors(model, back)
    }

    @Test("block-quantized tensors are stored byte for byte, with their group size", arguments: ["q8_0", "q4_0_g64", "q4_1_g32"])
    func blockTypes(name: String) throws {
        let dtype = try #require(DType(name: name))
        let original = try Self.stories()
        // Matrices whose rows are whole blocks get the block type, the rest stay fp32.
        let tensors = original.tensors.map { t -> Tensor in
            guard t.shape.count == 2, t.cols % dtype.blockSize == 0 else { return t }
            return Tensor(name: t.name, shape: t.shape, dtype: dtype, offset: 0, storedByteCount: 0) { _ in
                try Quantize.tensor(Dequantize.tensor(original, t), shape: t.shape, as: dtype)
            }
        }
        let model = try Model(format: original.format, files: original.files, config: original.config, tensors: tensors,
                              tokenizer: original.tokenizer)
        let dir = try Fixtures.scratch()
        _ = try Self.write(model, to: dir + "/b.llmq")
        let back = try LLMQContainerReader.read(path: dir + "/b.llmq")
        #expect(try back.tensor(CanonicalName.layer(0, .attnQ)).dtype == dtype)
        #expect(try back.tensor(CanonicalName.layer(0, .ffnDown)).dtype == (172 % dtype.blockSize == 0 ? dtype : .f32))
        for t in model.tensors {
            #expect(Array(try model.data(t)) == Array(try back.data(named: t.name)), "\(t.name)")
        }
        #expect(ContainerCheck.run(path: dir + "/b.llmq").ok)
    }

    @Test("quantizing the same weights read from llama2.c or from safetensors gives the same container tensors")
    func quantizeFromSafetensors() throws {
        let dir = try Fixtures.scratch()
        let bin = try Self.stories()
        try SafetensorsWriter.write(bin, to: dir + "/m.safetensors")
        let st = try ModelFile.open(dir + "/m.safetensors")
        for (source, out) in [(bin, "/a.q8"), (st, "/b.q8")] {
            let plan = try QuantizationRecipe(type: "q8_0").plan(for: source)
            let view = try Quantizer.view(of: source, plan: plan, stats: QuantizationStats())
            _ = try Self.write(view, to: dir + out)
        }
        let a = try LLMQContainerReader.read(path: dir + "/a.q8"), b = try LLMQContainerReader.read(path: dir + "/b.q8")
        #expect(a.tensors.count == b.tensors.count)
        for t in a.tensors {
            #expect(t.dtype == (try b.tensor(t.name)).dtype)
            #expect(Array(try a.data(t)) == Array(try b.data(named: t.name)), "\(t.name)")
        }
    }

    @Test("a model without a tokenizer writes an empty tokenizer section")
    func noTokenizer() throws {
        let dir = try Fixtures.scratch()
        let model = try Llama2CReader.read(path: Fixtures.stories260K)
        let result = try Self.write(model, to: dir + "/n.llmq")
        #expect(result.header.tokenizer.length == 0)
        #expect(try LLMQContainerReader.read(path: dir + "/n.llmq").tokenizer == nil)
    }

    @Test("the writer refuses to overwrite its input and leaves no file when the input is bad")
    func atomic() throws {
        let dir = try Fixtures.scratch()
        let model = try Self.stories()
        _ = try Self.write(model, to: dir + "/m.llmq")
        let before = try Fixtures.read(dir + "/m.llmq")
        let again = try LLMQContainerReader.read(path: dir + "/m.llmq")
        #expect(throws: LLMQError.self) { _ = try Self.write(again, to: dir + "/m.llmq") }
        #expect(try Fixtures.read(dir + "/m.llmq") == before)
        // A tensor whose data cannot be produced aborts the write: no output, no temporary file.
        let broken = try Model(format: model.format, files: model.files, config: model.config, tensors: model.tensors.map { t in
            var t = t
            if t.name == "blk.3.ffn_up.weight" { t.decode = { _ in throw LLMQError(.invalid, "cannot read") } }
            return t
        }, tokenizer: model.tokenizer)
        #expect(throws: LLMQError.self) { _ = try Self.write(broken, to: dir + "/x.llmq") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["m.llmq"])
    }

    @Test("file extensions choose the output format")
    func extensions() {
        #expect(ModelFile.OutputFormat(path: "/a/b.q4") == .llmq)
        #expect(ModelFile.OutputFormat(path: "b.q8") == .llmq)
        #expect(ModelFile.OutputFormat(path: "b.LLMQ") == .llmq)
        #expect(ModelFile.OutputFormat(path: "b.bin") == .llama2c)
        #expect(ModelFile.OutputFormat(path: "b.gguf") == .gguf)
        #expect(ModelFile.OutputFormat(path: "b.safetensors") == .safetensors)
        #expect(ModelFile.OutputFormat(path: "b.txt") == nil)
        #expect(ModelFile.OutputFormat(path: "q4") == nil)
    }
}
