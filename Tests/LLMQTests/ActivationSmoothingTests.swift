import Foundation
import LLMQ
import LLMQTestSupport
import Testing

/// `quantize --smooth` rewrites the model into an equivalent one. Checked on stories260K by what
/// the engine computes, not by re-deriving the factors: the smoothed fp32 file predicts what the
/// original does, and calibrating it measures the inputs `apply(to:)` says it will have.
@Suite("Activation smoothing")
struct ActivationSmoothingTests {
    static let text = TextInput.file(Fixtures.tinyStories)

    /// An importance matrix of stories260K over a few chunks of TinyStories.
    func importance(_ dir: String) throws -> String {
        var request = CalibrateRequest(model: Fixtures.stories260K, text: Self.text, output: dir + "/imatrix.gguf")
        request.tokenizer = Fixtures.tok512
        request.evaluation = EvaluationSettings(contextLength: 128, maxChunks: 8)
        _ = try LLMQ.calibrate(request)
        return dir + "/imatrix.gguf"
    }

    func smoothedF32(_ dir: String, imatrix: String, alpha: Double) throws -> String {
        var request = QuantizeRequest(input: Fixtures.stories260K, output: dir + "/smoothed.gguf", type: .f32)
        request.tokenizer = Fixtures.tok512
        request.importance = .file(imatrix)
        request.smoothing = alpha
        _ = try LLMQ.quantize(request)
        return dir + "/smoothed.gguf"
    }

    @Test("the smoothed fp32 model predicts what the original does (KLD < 1e-9, same perplexity), though its weights moved by up to tens of percent")
    func equivalent() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let smoothed = try smoothedF32(dir, imatrix: try importance(dir), alpha: 0.5)

        var request = VerifyRequest(reference: Fixtures.stories260K, candidate: smoothed, text: Self.text)
        request.tokenizer = Fixtures.tok512
        request.evaluation = EvaluationSettings(contextLength: 128, maxChunks: 4)
        let report = try LLMQ.verify(request)
        #expect(report.comparison.kld.mean.value < 1e-9, "\(report.comparison.kld.mean.value)")
        // The GGUF says its tensors were rewritten, and verify passes that on.
        #expect(try ModelFile.open(smoothed).metadata.contains { $0.key == ActivationSmoothing.ggufKey && $0.value == "\"0.5\"" })
        #expect(report.candidate.mode?.contains("activation smoothing (alpha 0.5)") == true, "\(report.candidate.mode ?? "")")
        let ppl = (report.comparison.referencePPL.value, report.comparison.candidatePPL.value)
        #expect(abs(ppl.0 - ppl.1) < 1e-5 * ppl.0, "\(ppl)")

        // Not a trivial rewrite: norms, the matrices reading them, up and down, v and o all changed.
        let original = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512), rewritten = try ModelFile.open(smoothed)
        for name in ["blk.0.attn_norm.weight", "blk.0.attn_q.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight",
                     "blk.1.ffn_norm.weight", "blk.1.ffn_up.weight", "blk.1.ffn_down.weight"] {
            let a = try Dequantize.tensor(original, named: name), b = try Dequantize.tensor(rewritten, named: name)
            let change = zip(a, b).map { abs($1 - $0) / max(abs($0), 1e-6) }.max() ?? 0
            #expect(change > 0.1, "\(name) changed by at most \(change)")
        }
        #expect(try Dequantize.tensor(original, named: "token_embd.weight") == Dequantize.tensor(rewritten, named: "token_embd.weight"))
    }

    @Test("calibrating the smoothed model measures the importance matrix the rewrite predicts for it")
    func importanceFollows() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let imatrix = try importance(dir)
        let measured = try ImatrixFile.read(path: imatrix)
        let smoothing = try ActivationSmoothing(model: try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512),
                                                importance: measured, alpha: 0.5)
        let predicted = smoothing.apply(to: measured)

        let smoothed = try smoothedF32(dir, imatrix: imatrix, alpha: 0.5)
        var request = CalibrateRequest(model: smoothed, text: Self.text, output: dir + "/again.gguf")
        request.evaluation = EvaluationSettings(contextLength: 128, maxChunks: 8)
        _ = try LLMQ.calibrate(request)
        let again = try ImatrixFile.read(path: dir + "/again.gguf")

        #expect(Set(again.entries.keys) == Set(predicted.entries.keys))
        var changed = 0
        for (name, entry) in predicted.entries {
            let other = try #require(again.entries[name])
            #expect(other.count == entry.count)
            for (p, m) in zip(entry.sumSquares, other.sumSquares) {
                #expect(abs(p - m) <= 1e-3 * max(p, m) + 1e-9, "\(name): predicted \(p), measured \(m)")
            }
            if entry.sumSquares != measured.entries[name]!.sumSquares { changed += 1 }
        }
        let layers = try ModelFile.open(Fixtures.stories260K, tokenizerPath: Fixtures.tok512).config.layerCount
        #expect(changed == 7 * layers, "every matrix's input moved: \(changed) of \(7 * layers)")
    }

    @Test("llmq quantize --type f32 --smooth writes the tensors numpy's independent rewrite (scripts/reference/rewrite_channels.py) computes")
    func numpyAgrees() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var calibrate = CalibrateRequest(model: Fixtures.stories260KGGUF, text: Self.text, output: dir + "/imatrix.gguf")
        calibrate.evaluation = EvaluationSettings(contextLength: 128, maxChunks: 8)
        _ = try LLMQ.calibrate(calibrate)
        let r = try Fixtures.llmq("quantize", Fixtures.stories260KGGUF, dir + "/llmq.gguf", "--type", "f32", "--imatrix", dir + "/imatrix.gguf",
                                  "--smooth", "--smooth-alpha", "0.4")
        try #require(r.status == 0, "\(r.stderr)")
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/rewrite_channels.py").path
        let py = try Fixtures.run("/usr/bin/env", ["python3", script, Fixtures.stories260KGGUF, dir + "/imatrix.gguf", dir + "/numpy.gguf",
                                                   "--smooth", "0.4"])
        try #require(py.status == 0, "\(py.stderr)")

        let ours = try ModelFile.open(dir + "/llmq.gguf"), theirs = try ModelFile.open(dir + "/numpy.gguf")
        #expect(Set(ours.tensors.map(\.name)) == Set(theirs.tensors.map(\.name)))
        for t in theirs.tensors {
            let a = try Dequantize.tensor(ours, named: t.name), b = try Dequantize.tensor(theirs, t)
            let worst = zip(a, b).map { abs($0 - $1) / max(abs($1), 1e-3) }.max() ?? 0
            #expect(a.count == b.count && worst < 1e-5, "\(t.name): relative difference up to \(worst)")
        }
    }

    @Test("--smooth needs an importance matrix; the strength lies in 0…1")
    func usage() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var request = QuantizeRequest(input: Fixtures.stories260K, output: dir + "/m.gguf", type: .q8_0)
        request.tokenizer = Fixtures.tok512
        request.smoothing = 0.5
        #expect(throws: LLMQError.self) { try LLMQ.quantize(request) }
        request.importance = .file(try importance(dir))
        request.smoothing = 1.5
        #expect(throws: LLMQError.self) { try LLMQ.quantize(request) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.gguf"))
    }
}
