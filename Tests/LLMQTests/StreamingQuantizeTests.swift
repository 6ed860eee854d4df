import Foundation
import LLMQ
import LLMQTestSupport
import Testing

/// `quantize` streams a sharded bf16 Hugging Face directory (the 7B benchmark's input, at a small
/// size) a piece of rows at a time; the file must hold what encoding each tensor whole gives.
@Suite("streamed quantization of sharded bf16 safetensors")
struct StreamingQuantizeTests {
    /// Rows of 2560 make q and o 13 MB in bf16: more than one of the encoder's 8 MB pieces, cut where
    /// the reader's whole-head pieces (128 rows) are not, so pieces are re-cut; 256-wide rows take
    /// the K-quants themselves. Shards of 16 MB split the layer's tensors over several files.
    static func model(_ dir: String) throws -> String {
        let config = ModelConfig(dim: 2560, hiddenDim: 256, layerCount: 1, headCount: 20, kvHeadCount: 4, vocabSize: 512,
                                 contextLength: 128, sharedClassifier: false)
        let synthetic = try SyntheticModel.make(config: config, seed: 7)
        try HFDirectory.write(synthetic, to: dir + "/hf", floatType: .bf16, maxShardBytes: 16_000_000)
        return dir + "/hf"
    }

    /// The bytes of each tensor encoded whole from the source's whole-tensor decode (the path
    /// before streaming), by name.
    static func expected(_ source: Model, _ plan: QuantizationPlan) throws -> [String: (dtype: DType, bytes: [UInt8])] {
        var out: [String: (DType, [UInt8])] = [:]
        for entry in plan.entries {
            let t = try source.tensor(entry.name)
            if entry.dtype == t.dtype {
                out[entry.name] = (entry.dtype, Array(try source.data(t)))
            } else {
                let floats = try Dequantize.tensor(source, t)
                let bytes = entry.dtype == .f32 ? floats.withUnsafeBytes { Array($0) } : try Quantize.tensor(floats, shape: t.shape, as: entry.dtype)
                out[entry.name] = (entry.dtype, bytes)
            }
        }
        return out
    }

    /// gguf-py's view of a file: each tensor's type, shape (ours, outermost first) and data range.
    struct PyTensor: Decodable {
        var type: String
        var shape: [Int]
        var offset: Int
        var bytes: Int
    }

    static func ggufPy(_ path: String) throws -> [String: PyTensor] {
        let r = try Fixtures.run("/usr/bin/env", ["python3", "-c", """
            import json, sys
            from gguf import GGUFReader
            print(json.dumps({t.name: {"type": t.tensor_type.name, "shape": [int(d) for d in reversed(t.shape)],
                                       "offset": int(t.data_offset), "bytes": int(t.n_bytes)}
                              for t in GGUFReader(sys.argv[1]).tensors}))
            """, path])
        try #require(r.status == 0, "\(r.stderr)")
        return try JSONDecoder().decode([String: PyTensor].self, from: Data(r.stdout.utf8))
    }

    @Test("q4_0 and Q4_K_M: every tensor gguf-py reads has the plan's type and the whole-tensor encoding's bytes",
          arguments: ["q4_0", "Q4_K_M"])
    func streamedEqualsWhole(type: String) throws {
        let dir = try Fixtures.scratch(type)
        let hf = try Self.model(dir)
        #expect(try FileManager.default.contentsOfDirectory(atPath: hf).filter { $0.hasSuffix(".safetensors") }.count > 2)
        var request = QuantizeRequest(input: hf, output: dir + "/out.gguf")
        if let mix = LlamaCppMix(llamaCppName: type) { request.mix = mix } else { request.type = DType(name: type) }
        _ = try LLMQ.quantize(request)

        let source = try ModelFile.open(hf)
        // At least one tensor is more than one of TensorEncoder's 8 MiB pieces.
        #expect(source.tensors.contains { $0.dtype == .bf16 && $0.byteCount > 8 << 20 })
        let plan = try QuantizationRecipe(type: type).plan(for: source)
        let expected = try Self.expected(source, plan)
        let file = try Fixtures.read(dir + "/out.gguf")
        let py = try Self.ggufPy(dir + "/out.gguf")
        #expect(py.count == expected.count)
        for (name, want) in expected.sorted(by: { $0.key < $1.key }) {
            let t = try #require(py[name], "\(name) missing")
            #expect(t.type == want.dtype.description.uppercased(), "\(type) \(name)")
            #expect(t.shape == (try source.tensor(name)).shape, "\(name)")
            #expect(t.bytes == want.bytes.count && Array(file[t.offset..<t.offset + t.bytes]) == want.bytes, "\(type) \(name)")
        }
        // Types the mix gives beyond the base: the classifier and some ffn_down / attn_v rows.
        if type == "Q4_K_M" { #expect(Set(py.values.map(\.type)).isSuperset(of: ["Q4_K", "Q6_K", "F32"])) }
    }
}
