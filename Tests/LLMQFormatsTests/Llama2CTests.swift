import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

@Suite("llama2.c checkpoints")
struct Llama2CTests {
    @Test("stories260K.bin reads as a legacy checkpoint with every byte accounted for")
    func readStories() throws {
        let model = try Llama2CReader.read(path: Fixtures.stories260K)
        let c = model.config
        #expect(model.format.version == 0)
        let fields: [Int] = [c.dim, c.hiddenDim, c.layerCount, c.headCount, c.kvHeadCount, c.vocabSize, c.contextLength]
        #expect(fields == [64, 172, 5, 8, 4, 512, 512])
        #expect(c.sharedClassifier)
        #expect(model.tensors.count == 1 + 5 * 9 + 1)
        #expect(model.parameterCount == 260_032)
        let report = ModelReport(model)
        #expect(report.totals.accountedBytes == report.fileBytes)
        #expect(model.regions.map(\.name) == ["header", "rope tables (unused)"])
        // The embedding starts right after the 28-byte header; the final norm sits before the RoPE tables.
        #expect(try model.tensor(CanonicalName.tokenEmbedding).offset == 28)
        #expect(try model.tensor(CanonicalName.outputNorm).offset == 1_039_900)
    }

    @Test("v0 → v1 → v0 keeps every tensor bit-identical", arguments: [0, 1])
    func roundTrip(version: Int) throws {
        let dir = try Fixtures.scratch()
        let original = try Llama2CReader.read(path: Fixtures.stories260K)
        try Llama2CWriter.write(original, to: dir + "/a.bin", version: version)
        let copy = try Llama2CReader.read(path: dir + "/a.bin")
        #expect(copy.format.version == version)
        #expect(copy.config == original.config)
        try expectSameTensors(original, copy)
        if version == 0 {
            // Byte-identical but for the unused RoPE tables, whose cos/sin differ from PyTorch's in the last bit.
            let tables = try #require(original.regions.first { $0.name.hasPrefix("rope") })
            var ours = try Fixtures.read(dir + "/a.bin"), theirs = try Fixtures.read(Fixtures.stories260K)
            #expect(ours.count == theirs.count)
            ours.removeSubrange(tables.offset..<(tables.offset + tables.length))
            theirs.removeSubrange(tables.offset..<(tables.offset + tables.length))
            #expect(ours == theirs)
        }
        try Llama2CWriter.write(copy, to: dir + "/b.bin", version: 0)
        try expectSameTensors(original, try Llama2CReader.read(path: dir + "/b.bin"))
    }

    @Test("v2 stores int8 groups with fp32 scales as export.py does")
    func version2() throws {
        let dir = try Fixtures.scratch()
        let original = try Llama2CReader.read(path: Fixtures.stories260K)
        try Llama2CWriter.write(original, to: dir + "/q.bin", version: 2, groupSize: 64)
        let q = try Llama2CReader.read(path: dir + "/q.bin")
        #expect(q.format.version == 2)
        let wq = try q.tensor(CanonicalName.layer(0, .attnQ))
        #expect(wq.dtype == DType(Q8_L2C.self, blockSize: 64))
        #expect(wq.storedByteCount == 4096 + 4096 / 64 * 4)
        #expect(try q.tensor(CanonicalName.layer(0, .attnNorm)).dtype == .f32)
        // Every weight is within half a quantization step of the original.
        for t in original.tensors {
            let a = try Dequantize.tensor(original, t)
            let b = try Dequantize.tensor(q, q.tensor(t.name))
            let step = (a.map(abs).max() ?? 0) / 127
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= step * 0.5 + 1e-7, "\(t.name): error \(worst) vs step \(step)")
        }
        #expect(ModelReport(q).totals.accountedBytes == ModelReport(q).fileBytes)
        // Reading v2 back and writing v2 again copies the groups unchanged.
        try Llama2CWriter.write(q, to: dir + "/q2.bin", version: 2, groupSize: 64)
        #expect(try Fixtures.read(dir + "/q2.bin") == Fixtures.read(dir + "/q.bin"))
    }

    @Test("a separate classifier is marked by a negative vocab size and read back")
    func separateClassifier() throws {
        let dir = try Fixtures.scratch()
        var c = SyntheticModel.shape(named: "stories260K")!.config
        c.sharedClassifier = false
        c.layerCount = 2
        let model = try SyntheticModel.make(config: c, seed: 7)
        for version in 0...2 {
            try Llama2CWriter.write(model, to: dir + "/m\(version).bin", version: version)
            let back = try Llama2CReader.read(path: dir + "/m\(version).bin")
            #expect(!back.config.sharedClassifier)
            #expect(back[CanonicalName.output] != nil)
        }
        let header = try Fixtures.read(dir + "/m0.bin").prefix(28)
        #expect(header.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 20, as: Int32.self) } == -512)
        try expectSameTensors(model, try Llama2CReader.read(path: dir + "/m1.bin"))
    }

    @Test("legacy files without the RoPE tables are accepted")
    func withoutRopeTables() throws {
        let dir = try Fixtures.scratch()
        var bytes = try Fixtures.read(Fixtures.stories260K)
        bytes.removeLast(4096 * 4)
        try Fixtures.write(bytes, to: dir + "/norope.bin")
        let model = try Llama2CReader.read(path: dir + "/norope.bin")
        #expect(model.regions.count == 1)
        try expectSameTensors(try Llama2CReader.read(path: Fixtures.stories260K), model)
    }

    @Test("the llama2.c tokenizer reads 512 tokens and writes back byte-identical")
    func tokenizerFile() throws {
        let tok = try Llama2CTokenizerFile.read(path: Fixtures.tok512, expectedCount: 512)
        #expect(tok.count == 512)
        #expect(String(decoding: tok.pieces[3], as: UTF8.self) == "<0x00>")
        let dir = try Fixtures.scratch()
        try Llama2CTokenizerFile.write(tok, to: dir + "/t.bin")
        #expect(try Fixtures.read(dir + "/t.bin") == Fixtures.read(Fixtures.tok512))
        #expect(throws: LLMQError.self) { try Llama2CTokenizerFile.read(path: Fixtures.tok512, expectedCount: 32000) }
    }
}

func expectSameTensors(_ a: Model, _ b: Model, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(a.tensors.map(\.name).sorted() == b.tensors.map(\.name).sorted(), sourceLocation: sourceLocation)
    for t in a.tensors {
        let u = try Dequantize.tensor(a, t)
        let v = try Dequantize.tensor(b, b.tensor(t.name))
        #expect(u.map(\.bitPattern) == v.map(\.bitPattern), "\(t.name) differs", sourceLocation: sourceLocation)
    }
}
