// Quantizes a model to q4_0 and verifies it against the original on a text: prints the mean KL
// divergence and exits 1 when it exceeds MAX_KLD (default 0.1), 2 on an error.
//
//   swift run QuantizeAndVerify MODEL TEXT [TOKENIZER]
import Foundation
import LLMQ

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2 || arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: QuantizeAndVerify MODEL TEXT [TOKENIZER]\n".utf8))
    exit(2)
}
let (model, text, tokenizer) = (arguments[1], arguments[2], arguments.count == 3 ? arguments[3] : nil)
let maxKLD = ProcessInfo.processInfo.environment["MAX_KLD"].flatMap(Double.init) ?? 0.1
let candidate = FileManager.default.temporaryDirectory.appendingPathComponent("quantize-and-verify-\(getpid()).q4").path

func run() throws -> Bool {
    var quantize = QuantizeRequest(input: model, output: candidate, type: .q4_0)
    quantize.tokenizer = tokenizer
    let quantized = try LLMQ.quantize(quantize) { event in
        if event.done == event.total { print("\(event.phase): \(event.total) done") }
    }
    print(String(format: "q4_0: %d → %d bytes, %.3f bits per weight", quantized.totals.inputBytes, quantized.totals.outputBytes,
                 quantized.totals.bitsPerWeight))

    var verify = VerifyRequest(reference: model, candidate: candidate, text: .file(text), gates: Gates(maxKLD: maxKLD))
    verify.tokenizer = tokenizer
    verify.evaluation.maxChunks = 8
    let report = try LLMQ.verify(verify)
    let c = report.comparison
    print(String(format: "KLD %.6f ± %.6f, same top-1 %.2f %%, PPL %.4f → %.4f", c.kld.mean.value, c.kld.mean.uncertainty,
                 c.sameTopPercent.value, c.referencePPL.value, c.candidatePPL.value))
    report.gates.forEach { print($0.description) }
    return report.passed
}

do {
    let passed = try run()
    try? FileManager.default.removeItem(atPath: candidate)
    exit(passed ? 0 : 1)
} catch {
    try? FileManager.default.removeItem(atPath: candidate)
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(2)
}
