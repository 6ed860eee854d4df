import Dispatch
import Foundation
import LLMQBench
import LLMQTestSupport
import Testing

/// Several llmq processes at once on this 2-core machine: four quantizations of one ~27 MB model
/// and two verifications. Each must produce exactly what it produces alone, and stay within a
/// memory bound that does not grow with the model (streaming writes, mapped reads).
@Suite("Concurrent quantize and verify runs")
struct ConcurrencyCLITests {
    /// Peak resident memory allowed to one quantize of the 27 MB model (measured: ~30 MB) or one
    /// verify of stories260K (~36 MB), whatever the neighbours do.
    static let boundPerProcess = 80 << 20

    @Test("4 quantize and 2 verify runs side by side: outputs identical to solo runs, each under 80 MB")
    func sideBySide() throws {
        let dir = try Fixtures.scratch()
        let model = dir + "/model.bin"
        let synth = try Fixtures.llmq("synth", model, "--dim", "256", "--hidden-dim", "768", "--layers", "8", "--heads", "8",
                                      "--kv-heads", "4", "--vocab", "512", "--seed", "9")
        #expect(synth.status == 0, "\(synth.stderr)")
        let solo = try Fixtures.llmq("quantize", model, dir + "/solo.q4", "--type", "q4_0")
        #expect(solo.status == 0, "\(solo.stderr)")
        let q8 = dir + "/stories.q8"
        #expect(try Fixtures.llmq("quantize", Fixtures.stories260K, q8, "-z", Fixtures.tok512).status == 0)
        let verify = ["verify", Fixtures.stories260K, q8, "-z", Fixtures.tok512, "--text", Fixtures.tinyStories, "--chunks", "2"]
        let soloVerify = try Fixtures.llmq(verify)
        #expect(soloVerify.status == 0, "\(soloVerify.stderr)")

        let jobs = (0..<4).map { ["quantize", model, dir + "/out\($0).q4", "--type", "q4_0"] } + [verify, verify]
        let children = try jobs.map { try ChildProcess(Fixtures.llmq, $0) }
        let exits = try children.map { try $0.wait() }
        let reference = try Fixtures.read(dir + "/solo.q4")
        for (job, exit) in zip(jobs, exits) {
            #expect(exit.status == 0, "\(job[0]): \(exit.stderr)")
            let peak = exit.peakRSSBytes
            #expect(peak < Self.boundPerProcess, "\(job[0]): peak RSS \(peak >> 20) MB")
            if job[0] == "quantize" {
                #expect(try Fixtures.read(job[2]) == reference, "\(job[2]) differs from the solo run")
            } else {
                #expect(withoutTimings(exit.stdout) == withoutTimings(soloVerify.stdout))
            }
        }
    }

    /// verify's report without its wall-clock line.
    func withoutTimings(_ report: String) -> [Substring] {
        report.split(separator: "\n").filter { !$0.hasPrefix("speed:") }
    }
}
