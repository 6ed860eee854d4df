import Foundation
import LLMQCore
import LLMQQuant
import LLMQTestSupport
import Testing

/// The K-quant, IQ4 and q5_1 encoders against llama.cpp's own quantizers: the committed fixtures
/// (`Tests/Fixtures/ggml-quants/README.md`) byte for byte, and the importance searches against
/// the reference rounding on real rows.
@Suite("K-quant and IQ4 encoders")
struct GGMLQuantTests {
    static let types = ["q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "iq4_nl", "iq4_xs", "q5_1"]
    static let fixtures = Fixtures.repoRoot.appendingPathComponent("Tests/Fixtures/ggml-quants").path

    @Test("the committed fixtures encode to llama.cpp's bytes", arguments: types)
    func fixtureBytes(name: String) throws {
        let dtype = try #require(DType(name: name))
        let input = try Fixtures.read(Self.fixtures + "/input.f32").withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let expected = try Fixtures.read(Self.fixtures + "/\(name).bin")
        let ours = try TestData.llmq(input, as: dtype).bytes
        #expect(ours.count == expected.count)
        if let at = TestData.firstDifference(ours, expected) {
            let block = at / dtype.blockBytes
            Issue.record("\(name): first differing byte \(at % dtype.blockBytes) of block \(block) (elements from \(block * dtype.blockSize))")
        }
    }

    @Test("with importance, stories260K's rows have at most the reference rounding's weighted error", arguments: types)
    func importanceNeverWorse(name: String) throws {
        let dtype = try #require(DType(name: name))
        let x = try TestData.stories260KRows()
        let w = TestData.columnWeights(256, seed: 11)
        let importance = (0..<x.count / 256).flatMap { _ in w }
        let plain = TestData.weightedError(x, try TestData.llmq(x, as: dtype).restored, columns: w)
        let searched = TestData.weightedError(x, try TestData.llmq(x, as: dtype, importance: importance).restored, columns: w)
        print("\(name): weighted error \(searched) with importance, \(plain) without (\(String(format: "%.1f", 100 * (1 - searched / plain)))% less)")
        #expect(searched <= plain)
        #expect(searched < 0.98 * plain, "the search should find better parameters than the reference on some blocks")
    }
}

/// llama.cpp's quantizers run side by side (scripts/reference/ggml-quantize, which builds the
/// helper against the llama.cpp that `scripts/llama-cpp` builds): opt in with LLMQ_LLAMACPP=1.
@Suite("llama.cpp's quantizers side by side", .enabled(if: ProcessInfo.processInfo.environment["LLMQ_LLAMACPP"] == "1"))
struct LlamaCppQuantTests {
    /// llama.cpp's bytes for `values` (rows of `columns`), with its imatrix path when `imatrix` is given.
    static func ggml(_ values: [Float], as name: String, columns: Int = 256, imatrix: [Float]? = nil) throws -> [UInt8] {
        let dir = try Fixtures.scratch("ggml-quantize")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Fixtures.write(values.withUnsafeBytes { Array($0) }, to: dir + "/in.f32")
        var arguments = ["quantize", name, String(columns), dir + "/in.f32", dir + "/out.bin"]
        if let imatrix {
            try Fixtures.write(imatrix.withUnsafeBytes { Array($0) }, to: dir + "/imatrix.f32")
            arguments.append(dir + "/imatrix.f32")
        }
        let r = try Fixtures.run(Fixtures.repoRoot.appendingPathComponent("scripts/reference/ggml-quantize").path, arguments)
        guard r.status == 0 else { throw LLMQError(.io, "ggml-quantize failed: \(r.stderr)") }
        return try Fixtures.read(dir + "/out.bin")
    }

    @Test("4096 random super-blocks per seed encode to llama.cpp's bytes", arguments: GGMLQuantTests.types)
    func randomBytes(name: String) throws {
        let dtype = try #require(DType(name: name))
        for seed: UInt64 in [1, 2, 3] {
            let values = TestData.hostile(blockSize: 256, blocks: 4096, seed: 100 + seed)
            let theirs = try Self.ggml(values, as: name)
            let ours = try TestData.llmq(values, as: dtype).bytes
            if let at = TestData.firstDifference(ours, theirs) {
                Issue.record("\(name) seed \(seed): first differing byte \(at % dtype.blockBytes) of block \(at / dtype.blockBytes)")
            }
        }
    }

    @Test("with importance, llmq's weighted error on stories260K's rows is at most llama.cpp's imatrix quantization's",
          arguments: GGMLQuantTests.types)
    func importanceAgainstLlamaCpp(name: String) throws {
        let dtype = try #require(DType(name: name))
        let x = try TestData.stories260KRows()
        for seed: UInt64 in [11, 12] {
            let w = TestData.columnWeights(256, seed: seed)
            let ours = try TestData.llmq(x, as: dtype, importance: (0..<x.count / 256).flatMap { _ in w }).restored
            let theirs = try TestData.decode(try Self.ggml(x, as: name, imatrix: w), as: dtype, count: x.count)
            let (e, reference) = (TestData.weightedError(x, ours, columns: w), TestData.weightedError(x, theirs, columns: w))
            print("\(name) seed \(seed): weighted error \(e), llama.cpp's imatrix quantization \(reference)")
            #expect(e <= reference, "\(name) seed \(seed)")
        }
    }
}
