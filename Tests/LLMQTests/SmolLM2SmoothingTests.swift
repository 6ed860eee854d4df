import Foundation
import LLMQ
import LLMQTestSupport
import Testing

/// What `--smooth` is for, on a real model: SmolLM2's matrix inputs carry channels far larger than
/// their neighbours, and the 8-bit rounding of every q8_0 product's input (llmq's, like
/// llama.cpp's) loses less once part of their range has moved into the weights.
@Suite("SmolLM2 activation smoothing", .enabled(if: Fixtures.smolLM2Enabled))
struct SmolLM2SmoothingTests {
    @Test("q8_0 of smoothed SmolLM2 diverges at most 0.8x as much as plain q8_0 on held-out technical and reference text")
    func smoothingHelpsQ8() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f32 = dir + "/f32.gguf"
        _ = try LLMQ.convert(ConvertRequest(input: try Fixtures.smolLM2(), output: f32, dequantize: true))
        var calibrate = CalibrateRequest(model: f32, text: .file(Fixtures.golden("eval/calibration.txt")), output: dir + "/imatrix.gguf")
        calibrate.evaluation = EvaluationSettings(contextLength: 512, maxChunks: 6)
        _ = try LLMQ.calibrate(calibrate)

        func kld(smoothing: Double?) throws -> Double {
            var request = QuantizeRequest(input: f32, output: dir + "/q8.gguf", type: .q8_0)
            request.importance = .file(dir + "/imatrix.gguf")
            request.smoothing = smoothing
            _ = try LLMQ.quantize(request)
            var verify = VerifyRequest(reference: f32, candidate: dir + "/q8.gguf", text: .file(Fixtures.golden("eval/heldout-out-of-domain.txt")))
            verify.evaluation = EvaluationSettings(contextLength: 512, maxChunks: 4)
            return try LLMQ.verify(verify).comparison.kld.mean.value
        }
        let plain = try kld(smoothing: nil), smoothed = try kld(smoothing: 0.5)
        #expect(plain > 0 && smoothed < 0.8 * plain, "mean KLD \(smoothed) smoothed against \(plain) plain")
    }
}
