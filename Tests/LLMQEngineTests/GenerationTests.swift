import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import Testing

/// The fp32 core against llama2.c: its published outputs for stories260K (golden/models/SOURCES.md),
/// the full 256-token texts in golden/run (which GoldenRunTests re-derives with
/// scripts/reference/llama2c_numpy.py, an independent numpy port of run.c), and round trips through
/// the other llama2.c versions.
@Suite("fp32 generation matches run.c")
struct GenerationTests {
    static func generate(_ modelPath: String, temperature: Float, topP: Float = 0.9, seed: UInt64 = 1, steps: Int = 256,
                         prompt: String = "", tokenizer tokenizerPath: String? = Fixtures.tok512) throws -> String {
        let model = try ModelFile.open(modelPath, tokenizerPath: tokenizerPath)
        let tokenizer = try Tokenizers.make(model.tokenizer!)
        let transformer = try Transformer(model: model)
        var sampler = Sampler(vocabSize: model.config.vocabSize, temperature: temperature, topP: topP, seed: seed)
        var bytes: [UInt8] = []
        _ = Generation.run(transformer: transformer, tokenizer: tokenizer, sampler: &sampler, prompt: prompt, steps: steps) { piece in
            if piece.count == 1, !(0x20...0x7E).contains(piece[0]), !(0x09...0x0D).contains(piece[0]) { return }
            bytes += piece
        }
        return String(decoding: bytes, as: UTF8.self) + "\n"
    }

    static func normalized(_ s: String) -> String {
        s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test("greedy text: run.c's published opening and the full golden text")
    func greedy() throws {
        let text = try Self.generate(Fixtures.stories260K, temperature: 0)
        let published = """
            Once upon a time, there was a little girl named Lily. She loved to play outside in the park. \
            One day, she saw a big, red ball. She wanted to play with it, but it was too high. \
            Lily's mom said, "Lily, let's go to the park." Lily was sad and didn't know what to do.
            """
        #expect(Self.normalized(text).hasPrefix(published))
        #expect(text == (try String(contentsOfFile: Fixtures.golden("run/stories260K.t0.n256.txt"), encoding: .utf8)))
    }

    @Test("seeded top-p text: run.c's published opening and the full golden text")
    func seeded() throws {
        let text = try Self.generate(Fixtures.stories260K, temperature: 1, topP: 0.9, seed: 133742)
        let published = """
            Once upon a time, there was a little boy named Timmy. Timmy loved to play with his toys and \
            eat sandwiches. One day, Timmy's mom told him it was time to rest for a while.
            """
        #expect(Self.normalized(text).hasPrefix(published))
        #expect(text == (try String(contentsOfFile: Fixtures.golden("run/stories260K.t1.p0.9.s133742.n256.txt"), encoding: .utf8)))
    }

    @Test("v1 copy generates identical greedy text; v2 (int8) runs and starts the same")
    func otherVersions() throws {
        let dir = try Fixtures.scratch()
        let model = try Llama2CReader.read(path: Fixtures.stories260K)
        try Llama2CWriter.write(model, to: dir + "/v1.bin", version: 1)
        try Llama2CWriter.write(model, to: dir + "/v2.bin", version: 2)
        let reference = try Self.generate(Fixtures.stories260K, temperature: 0)
        #expect(try Self.generate(dir + "/v1.bin", temperature: 0) == reference)
        let q8 = try Self.generate(dir + "/v2.bin", temperature: 0)
        #expect(q8.hasPrefix("Once upon a time, there was a little girl named Lily."))
    }

    @Test("a prompt is fed token by token, then continued")
    func prompt() throws {
        let text = try Self.generate(Fixtures.stories260K, temperature: 0, steps: 40, prompt: "Once upon a time, there was a dog")
        #expect(text.hasPrefix("Once upon a time, there was a dog"))
        #expect(text.count > "Once upon a time, there was a dog".count + 10)
    }

    @Test("logits agree with the independent numpy implementation")
    func logitsAgreeWithNumpy() throws {
        let dir = try Fixtures.scratch()
        let tokens = [1, 403, 407, 261, 378, 430, 271, 265, 400, 274, 389]
        let out = dir + "/logits.npy"
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/llama2c_numpy.py").path
        let r = try Fixtures.run("/usr/bin/env", ["python3", script, Fixtures.stories260K, Fixtures.tok512, "--logits",
                                                  tokens.map(String.init).joined(separator: ","), out])
        try #require(r.status == 0, "numpy reference failed: \(r.stderr)")
        let reference = try NumpyArray.read(out)
        let transformer = try Transformer(model: ModelFile.open(Fixtures.stories260K))
        for (pos, token) in tokens.enumerated() {
            let logits = transformer.forward(token: token, pos: pos)
            let row = reference[pos * 512..<(pos + 1) * 512]
            let worst = zip(logits, row).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-4, "position \(pos): max |Δlogit| \(worst)")
        }
    }
}

/// Reads a little-endian float32 .npy file written by numpy.save.
enum NumpyArray {
    static func read(_ path: String) throws -> [Float] {
        let bytes = try Fixtures.read(path)
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        precondition(header.contains("'<f4'"), "expected float32 data: \(header)")
        return bytes[(10 + headerLength)...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
