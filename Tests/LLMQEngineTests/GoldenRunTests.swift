import Foundation
import LLMQTestSupport
import Testing

/// golden/run/*.txt are llmq's own output, so comparing llmq with them only catches change. Here
/// an independent implementation derives them again: scripts/reference/llama2c_numpy.py, a numpy
/// port of llama2.c's run.c (forward pass, tokenizer, xorshift sampler) that shares no code with
/// llmq, must print each file byte for byte.
@Suite("golden run.c texts")
struct GoldenRunTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var arguments: [String]
        var testDescription: String { file }
    }

    static let cases = [
        Case(file: "run/stories260K.t0.n256.txt", arguments: ["-t", "0", "-n", "256"]),
        Case(file: "run/stories260K.t1.p0.9.s133742.n256.txt", arguments: ["-t", "1.0", "-p", "0.9", "-s", "133742", "-n", "256"]),
    ]

    @Test("the numpy port of run.c prints the golden text byte for byte", arguments: GoldenRunTests.cases)
    func numpyPrintsGolden(_ c: Case) throws {
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/llama2c_numpy.py").path
        let r = try Fixtures.run("/usr/bin/env", ["python3", script, Fixtures.stories260K, Fixtures.tok512] + c.arguments)
        try #require(r.status == 0, "numpy reference failed: \(r.stderr)")
        let golden = try Fixtures.read(Fixtures.golden(c.file))
        #expect(Array(r.stdout.utf8) == golden, "numpy printed:\n\(r.stdout)")
    }
}
