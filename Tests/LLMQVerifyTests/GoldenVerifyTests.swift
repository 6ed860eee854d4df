import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import LLMQVerify
import Testing

/// Verification reports of the project's own conversions of stories260K, kept in golden/verify/.
/// Each test re-runs one and fails when a figure drifts beyond `DriftTolerance` (golden/README.md).
/// `scripts/regenerate-golden-verify` rewrites them (LLMQ_REGENERATE_GOLDEN=1).
@Suite("golden verification reports")
struct GoldenVerifyTests {
    struct Fixture: Sendable, CustomTestStringConvertible {
        /// File name under golden/verify/, without .json.
        var name: String
        /// How the candidate is made from the reference, as the report states it.
        var description: String
        var gates: Gates
        var make: @Sendable (_ reference: Model, _ scratch: String) throws -> Model

        var testDescription: String { name }
    }

    /// Short and fixed, so the run is quick and the figures reproducible.
    static let ctx = 256, chunks = 20

    static let fixtures: [Fixture] = [
        Fixture(name: "stories260K.llama2c-int8", description: "llama2.c v2 export of stories260K.bin (int8, groups of 64), llmq's writer",
                gates: Gates(maxKLD: 0.002, maxPPLIncreasePercent: 0.5, minTop1Percent: 97)) { reference, scratch in
            try Llama2CWriter.write(reference, to: scratch + "/v2.bin", version: 2)
            return try ModelFile.open(scratch + "/v2.bin", tokenizerPath: Fixtures.tok512)
        },
        quantized(.q8_0, gates: Gates(maxKLD: 0.002, maxPPLIncreasePercent: 0.5, minTop1Percent: 97)),
        quantized(.q4_1, gates: Gates(maxKLD: 0.1, maxPPLIncreasePercent: 10, minTop1Percent: 84)),
        quantized(.q4_0, gates: Gates(maxKLD: 0.12, maxPPLIncreasePercent: 12, minTop1Percent: 82)),
    ]

    /// stories260K through llmq's default recipe for `base` (the quantized view, run on its own kernels).
    static func quantized(_ base: DType, gates: Gates) -> Fixture {
        Fixture(name: "stories260K.\(base)", description: "stories260K.bin quantized to \(base) with llmq's default recipe",
                gates: gates) { reference, _ in
            try Quantizer.view(of: reference, plan: QuantizationRecipe(base: base).plan(for: reference))
        }
    }

    static func report(_ fixture: Fixture) throws -> VerifyReport {
        let reference = try Harness.stories260K()
        let candidate = try fixture.make(reference, try Fixtures.scratch())
        let comparison = try Harness.compare(reference, candidate, ctx: ctx, chunks: chunks)
        let plan = try Harness.plan(try Harness.tokens(reference), ctx: ctx, chunks: chunks)
        return VerifyReport(reference: VerifyReport.Side(model: reference, path: "golden/models/stories260K.bin"),
                            candidate: VerifyReport.Side(model: candidate, path: fixture.description, mode: "native kernels"),
                            text: "golden/data/tinystories_sample.txt", plan: plan, comparison: comparison,
                            tensors: try WeightComparison.compare(reference: reference, candidate: candidate), gates: fixture.gates,
                            seconds: nil)
    }

    @Test("the report matches its golden file within tolerance", arguments: GoldenVerifyTests.fixtures)
    func matchesGolden(_ fixture: Fixture) throws {
        let fresh = try Self.report(fixture)
        let path = Fixtures.golden("verify/\(fixture.name).json")
        if ProcessInfo.processInfo.environment["LLMQ_REGENERATE_GOLDEN"] == "1" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try (try encoder.encode(fresh) + Data("\n".utf8)).write(to: URL(fileURLWithPath: path))
            return
        }
        let golden = try JSONDecoder().decode(VerifyReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        let drift = fresh.drift(from: golden)
        #expect(drift.isEmpty, "drift from \(path):\n\(drift.joined(separator: "\n"))")
        #expect(fresh.passed, "the fixture's own gates: \(fresh.gates.map(\.description))")
    }

    @Test("the int8 fixture is byte for byte what an independent numpy export.py --version 2 writes")
    func int8FixtureMatchesExport() throws {
        let dir = try Fixtures.scratch()
        try Llama2CWriter.write(try Harness.stories260K(), to: dir + "/llmq.bin", version: 2)
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/llama2c_export_v2.py").path
        let r = try Fixtures.run("/usr/bin/env", ["python3", script, Fixtures.stories260K, dir + "/numpy.bin"])
        try #require(r.status == 0, "numpy export failed: \(r.stderr)")
        #expect(try Fixtures.read(dir + "/llmq.bin") == Fixtures.read(dir + "/numpy.bin"))
    }

    @Test("drift detection notices a changed figure")
    func driftIsDetected() throws {
        let path = Fixtures.golden("verify/\(Self.fixtures[0].name).json")
        let golden = try JSONDecoder().decode(VerifyReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(golden.drift(from: golden).isEmpty)
        var moved = golden
        moved.comparison.kld.mean.value *= 1.05
        moved.tensors?[0].snrDB += 0.1
        let drift = moved.drift(from: golden)
        #expect(drift.count == 2 && drift[0].hasPrefix("KLD mean") && drift[1].contains("SNR"), "\(drift)")
    }
}
