import Foundation
import LLMQ
import LLMQTestSupport
import Testing

/// The library calls the commands are made of, on stories260K: what a Swift program that quantizes
/// and verifies sees, progress reports and cancellation included.
@Suite("LLMQ library calls")
struct LibraryTests {
    static let text = TextInput.file(Fixtures.tinyStories)
    static let small = EvaluationSettings(contextLength: 128, maxChunks: 4)

    /// Every progress report, in order.
    final class Recorder: Sendable {
        private let events = Locked<[ProgressEvent]>([])
        var handler: ProgressHandler { { [self] event in events.withLock { $0.append(event) } } }
        var all: [ProgressEvent] { events.withLock { $0 } }
    }

    func quantizeRequest(_ output: String) -> QuantizeRequest {
        var request = QuantizeRequest(input: Fixtures.stories260K, output: output)
        request.tokenizer = Fixtures.tok512
        return request
    }

    @Test("quantize to a file, reporting every tensor, then verify it against the original: q4_0 diverges a little, and the result encodes")
    func quantizeThenVerify() throws {
        let dir = try Fixtures.scratch()
        let recorder = Recorder()
        let q = try LLMQ.quantize(quantizeRequest(dir + "/m.q4"), progress: recorder.handler)
        #expect(q.recipe.type == "q4_0" && q.format.hasPrefix("llmq"))
        #expect(q.tensors.first { $0.name == "blk.0.attn_q.weight" }?.to == "q4_0")
        #expect(q.totals.parameters == 260_032 && q.totals.bitsPerWeight > 4.5 && q.totals.bitsPerWeight < 8)
        let events = recorder.all
        #expect(events.map(\.done) == Array(1...47) && events.allSatisfy { $0.phase == .quantize && $0.total == 47 })

        let decoded = try JSONDecoder().decode(QuantizeResult.self, from: try JSONEncoder().encode(q))
        #expect(decoded.tensors == q.tensors && decoded.totals == q.totals)

        var request = VerifyRequest(reference: Fixtures.stories260K, candidate: dir + "/m.q4", text: Self.text,
                                    gates: Gates(maxKLD: 0.1, minTop1Percent: 50))
        request.tokenizer = Fixtures.tok512
        request.evaluation = Self.small
        let verifying = Recorder()
        let report = try LLMQ.verify(request, progress: verifying.handler)
        #expect(report.passed && report.gates.count == 2)
        #expect(report.comparison.kld.mean.value > 0 && report.comparison.kld.mean.value < 0.1)
        #expect(report.plan.contextLength == 128 && report.plan.chunkCount == 4 && report.plan.bosID == 1)
        #expect(verifying.all.map(\.done) == [1, 2, 3, 4] && verifying.all.allSatisfy { $0.phase == .verify })
        #expect(report.tensors?.first?.candidateDType == "q4_0")

        request.gates = Gates(maxKLD: 0)
        #expect(try LLMQ.verify(request).passed == false)
    }

    @Test("a cancelled quantize stops after the tensor it was on, throws CancellationError and leaves no file, not even a temporary")
    func cancelQuantize() throws {
        let dir = try Fixtures.scratch()
        let token = CancellationToken()
        let recorder = Recorder()
        #expect(throws: CancellationError.self) {
            try LLMQ.quantize(quantizeRequest(dir + "/m.q4"), cancellation: token) { event in
                recorder.handler(event)
                if event.done == 3 { token.cancel() }
            }
        }
        #expect(recorder.all.count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("a cancelled verify leaves no saved reference; a condition token stops perplexity between chunks")
    func cancelEvaluation() throws {
        let dir = try Fixtures.scratch()
        let token = CancellationToken()
        var request = VerifyRequest(reference: Fixtures.stories260K, candidate: Fixtures.stories260K, text: Self.text)
        request.tokenizer = Fixtures.tok512
        request.evaluation = Self.small
        request.saveReference = dir + "/ref.llmqref"
        #expect(throws: CancellationError.self) {
            try LLMQ.verify(request, cancellation: token) { if $0.done == 2 { token.cancel() } }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)

        let chunks = Locked(0)
        var perplexity = PerplexityRequest(model: Fixtures.stories260K, text: Self.text, evaluation: Self.small)
        perplexity.tokenizer = Fixtures.tok512
        #expect(throws: CancellationError.self) {
            try LLMQ.perplexity(perplexity, cancellation: CancellationToken(when: { chunks.withLock { $0 } >= 1 })) { event in
                chunks.withLock { $0 = event.done }
            }
        }
        #expect(chunks.withLock { $0 } == 1)
    }

    @Test("calibrate in memory, quantize with that importance matrix: the scale search is weighted and the matrix recorded by name")
    func calibrateInMemory() throws {
        var request = CalibrateRequest(model: Fixtures.stories260K, text: Self.text)
        request.tokenizer = Fixtures.tok512
        request.evaluation = EvaluationSettings(contextLength: 128, maxChunks: 2)
        let calibration = try LLMQ.calibrate(request)
        #expect(calibration.output == nil && calibration.importance.entries.count == 36)
        #expect(calibration.chunkCount == 2 && calibration.positions == 2 * 127)

        let dir = try Fixtures.scratch()
        var quantize = quantizeRequest(dir + "/m.q4")
        quantize.importance = .matrix(calibration.importance, name: "tinystories in memory")
        let q = try LLMQ.quantize(quantize)
        #expect(q.recipe.imatrix == "tinystories in memory" && q.recipe.scaleSearch == true)
        let created = try #require(try LLMQContainerReader.open(path: dir + "/m.q4").metadata.created)
        #expect(created.command == "quantize" && created.parameters["imatrix"] == "tinystories in memory")
    }

    @Test("calibrate counts what its text offered and warns when it is small or narrow")
    func calibrationCoverage() throws {
        var request = CalibrateRequest(model: Fixtures.stories260K, text: Self.text)
        request.tokenizer = Fixtures.tok512
        request.evaluation = EvaluationSettings(contextLength: 128, maxChunks: 2)
        let few = try LLMQ.calibrate(request).coverage
        #expect(few.positions == 2 * 127 && few.distinctTokens > 64 && few.distinctTokens <= 256 && few.vocabSize == 512)
        #expect(few.warnings.count == 2 && few.warnings[0].contains("254 positions"), "\(few)")
        #expect(few.distinctTokens < 128 && few.warnings[1].contains("\(few.distinctTokens) of 512 token ids"), "\(few)")

        request.evaluation = EvaluationSettings(contextLength: 512)
        let all = try LLMQ.calibrate(request).coverage
        #expect(all.positions >= CalibrationCoverage.minPositions && all.distinctTokens > few.distinctTokens && all.warnings.isEmpty)
        // One repeated story: plenty of positions, few different tokens.
        let narrow = CalibrationCoverage(positions: 40_000, distinctTokens: 900, vocabSize: 49_152)
        #expect(narrow.warnings.count == 1 && narrow.warnings[0].contains("900 of 49152 token ids"))
    }

    @Test("perplexity defaults to 512-token chunks, and a text string scores as its file does")
    func perplexityDefaults() throws {
        var fromFile = PerplexityRequest(model: Fixtures.stories260K, text: Self.text)
        fromFile.tokenizer = Fixtures.tok512
        fromFile.evaluation.maxChunks = 2
        let file = try LLMQ.perplexity(fromFile)
        #expect(file.result.plan.contextLength == 512 && file.textTokens == 100_708)
        var fromString = fromFile
        fromString.text = .string(try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8), name: "sample")
        let string = try LLMQ.perplexity(fromString)
        #expect(string.text == "sample" && string.result.perplexity == file.result.perplexity)
    }

    @Test("usage errors are LLMQError values naming what was wrong")
    func usageErrors() throws {
        let dir = try Fixtures.scratch()
        #expect(throws: LLMQError.self) { try LLMQ.quantize(quantizeRequest(dir + "/m.llmq")) }   // no type for the extension
        var threads = quantizeRequest(dir + "/m.q4")
        threads.threads = 0
        #expect(throws: LLMQError.self) { try LLMQ.quantize(threads) }
        var noText = VerifyRequest(reference: Fixtures.stories260K, candidate: Fixtures.stories260K)
        noText.tokenizer = Fixtures.tok512
        let error = try #require(throws: LLMQError.self) { try LLMQ.verify(noText) }
        #expect(error.kind == .usage && error.message.contains("--text"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }
}
