import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

@Suite("Quantized model views")
struct QuantizedViewTests {
    static func floats(_ model: Model, _ t: Tensor) throws -> [Float] { try Dequantize.tensor(model, t) }

    @Test("every tensor of the view is exactly the codec's output for the source; unchanged ones pass through",
          arguments: ["q8_0", "q4_0", "q4_1"])
    func bytesMatchCodecs(type: String) throws {
        let source = try Llama2CReader.read(path: Fixtures.stories260K)
        let plan = try QuantizationRecipe(type: type).plan(for: source)
        let stats = QuantizationStats()
        let view = try Quantizer.view(of: source, plan: plan, stats: stats)
        #expect(view.config == source.config && view.tensors.map(\.name) == source.tensors.map(\.name))
        for (t, entry) in zip(view.tensors, plan.entries) {
            #expect(t.dtype == entry.dtype && t.shape == entry.shape)
            let bytes = Array(try view.data(t))
            if entry.passesThrough {
                #expect(t.decode == nil, "\(t.name) passes through without decoding")
                #expect(try view.data(t).baseAddress == source.data(source.tensor(t.name)).baseAddress)
            } else {
                let direct = try Quantize.tensor(Self.floats(source, source.tensor(t.name)), shape: t.shape, as: t.dtype)
                #expect(bytes == direct, "\(t.name) as \(t.dtype)")
                #expect(stats[t.name] != nil)
            }
            view.release(t)
        }
        #expect(stats.all.count == plan.entries.filter { !$0.passesThrough }.count)
    }

    @Test("error statistics agree with a direct computation and rank the types")
    func statistics() throws {
        let source = try Llama2CReader.read(path: Fixtures.stories260K)
        var snrByType: [String: Double] = [:]
        for type in ["q8_0", "q4_1", "q4_0"] {
            let stats = QuantizationStats()
            let view = try Quantizer.view(of: source, plan: try QuantizationRecipe(type: type).plan(for: source), stats: stats)
            let name = "blk.1.attn_q.weight"
            let t = try view.tensor(name)
            let restored = try Dequantize.tensor(view, t)
            let original = try Self.floats(source, source.tensor(name))
            let errors = zip(original, restored).map { Double($0 - $1) }
            let rmse = (errors.map { $0 * $0 }.reduce(0, +) / Double(errors.count)).squareRoot()
            let record = try #require(stats[name])
            #expect(record.dtype == DType(name: type) && record.elementCount == original.count)
            #expect(abs(record.rmse - rmse) <= 1e-4 * rmse)
            #expect(abs(record.maxAbsError - errors.map(abs).max()!) <= 1e-7)
            #expect(record.rmse <= record.maxAbsError)
            let snr = try #require(record.snrDB)
            snrByType[type] = snr
            // ffn_down falls back to f16: ~70 dB, far above any 4- or 8-bit block.
            _ = try view.data(named: "blk.0.ffn_down.weight")
            #expect(try #require(stats["blk.0.ffn_down.weight"]?.snrDB) > 60)
        }
        #expect(snrByType["q8_0"]! > 35 && snrByType["q4_1"]! > 12 && snrByType["q4_0"]! > 10)
        #expect(snrByType["q8_0"]! > snrByType["q4_1"]! && snrByType["q4_1"]! > snrByType["q4_0"]!)
    }

    @Test("one thread and several threads write the same bytes")
    func threads() throws {
        let source = try SyntheticModel.make(config: SyntheticModel.shape(named: "stories15M")!.config, seed: 5)
        let plan = try QuantizationRecipe(type: "q4_1").plan(for: source)
        let name = "blk.0.ffn_gate.weight"   // 768 × 288: several chunks
        let one = try Quantizer.view(of: source, plan: plan, threads: 1)
        let four = try Quantizer.view(of: source, plan: plan, threads: 4)
        #expect(Array(try one.data(named: name)) == Array(try four.data(named: name)))
    }

    @Test("a generated (decoded) source streams: each tensor is produced on demand and released")
    func streamsGeneratedSources() throws {
        let source = try SyntheticModel.make(config: SyntheticModel.shape(named: "stories260K")!.config, seed: 9)
        let stats = QuantizationStats()
        let view = try Quantizer.view(of: source, plan: try QuantizationRecipe(type: "q8_0").plan(for: source), stats: stats)
        for t in view.tensors {
            _ = try view.data(t)
            view.release(t)
        }
        // The synthetic weights are N(0, 0.02²) with outliers: q8_0 keeps ~35-40 dB.
        for record in stats.all where record.dtype == .q8_0 { #expect(record.snrDB! > 30, "\(record.name)") }
    }

    @Test("a plan for another model, or a value no block can hold, is an error naming the tensor")
    func errors() throws {
        let stories = try Llama2CReader.read(path: Fixtures.stories260K)
        let synthetic = try SyntheticModel.make(config: SyntheticModel.shape(named: "stories15M")!.config, seed: 1)
        let foreign = try QuantizationRecipe(type: "q4_0").plan(for: synthetic)
        #expect(throws: LLMQError.self) { try Quantizer.view(of: stories, plan: foreign) }

        var values = [Float](repeating: 0.25, count: 4 * 64)
        values[130] = .infinity
        let bad = try Model(format: FileFormat(name: "test"), files: [MappedFile(emptyNamed: "<test>")],
                            config: stories.config,
                            tensors: [Tensor(name: "w", shape: [4, 64], dtype: .f32, offset: 0, storedByteCount: 0) { [values] _ in
                                values.withUnsafeBytes { Array($0) }
                            }])
        let view = try Quantizer.view(of: bad, plan: try QuantizationRecipe(type: "q8_0").plan(for: bad))
        let error = #expect(throws: LLMQError.self) { try view.data(named: "w") }
        #expect(error?.tensor == "w")
        #expect(error?.message.contains("inf") == true)
    }
}
