import Foundation
import LLMQTestSupport
import Testing

/// `llmq bench` on stories260K with minimal runs: the report's structure and the sanity of its
/// figures (never their speed, which depends on the machine and its load).
@Suite("llmq bench")
struct BenchCLITests {
    static let sections = ["decode", "prompt", "quantize", "kernels"]
    static let kernelTypes = ["f32", "f16", "q8_0", "q4_0", "q4_1"]

    func bench(_ extra: String...) throws -> Fixtures.Result {
        try Fixtures.llmq(["bench", Fixtures.stories260K, "--repetitions", "2", "--warmups", "0", "--decode-tokens", "8",
                           "--prompt-tokens", "16", "--stream-mib", "8", "--scratch", try Fixtures.scratch()] + extra)
    }

    /// A rate's median lies within its spread, and all are positive and finite.
    func checkRate(_ value: Any?, _ label: String) throws {
        let rate = try #require(value as? [String: Double], "\(label): no rate")
        let median = try #require(rate["median"]), low = try #require(rate["min"]), high = try #require(rate["max"])
        #expect(low > 0 && low.isFinite && high.isFinite, "\(label): \(rate)")
        #expect(low <= median && median <= high, "\(label): \(rate)")
    }

    @Test("--json reports the bandwidth probe, decode, prompt, quantize and every kernel, with sane rates")
    func json() throws {
        let r = try bench("--json")
        #expect(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let threads = try #require(report["threads"] as? Int)
        #expect(threads >= 1)
        #expect(report["repetitions"] as? Int == 2 && report["clock"] as? String == "wall")
        #expect((report["loadBefore"] as? [Double])?.count == 3)
        #expect(["avx512vnni", "avx2", "portable"].contains(report["kernels"] as? String ?? ""))
        let bandwidth = try #require(report["bandwidth"] as? [String: Any])
        #expect(Set(bandwidth.keys) == Set(["1", "\(threads)"]))
        for (n, rate) in bandwidth { try checkRate(rate, "bandwidth \(n)") }

        let rows = try #require(report["rows"] as? [[String: Any]])
        #expect(Set(rows.compactMap { $0["section"] as? String }) == Set(Self.sections))
        for row in rows {
            let name = try #require(row["name"] as? String)
            try checkRate(row["rate"], name)
            if row["gigabytesPerSecond"] != nil {
                try checkRate(row["gigabytesPerSecond"], name)
                #expect((row["bandwidthFraction"] as? Double ?? 0) > 0, "\(name)")
            }
        }
        func section(_ name: String) -> [[String: Any]] { rows.filter { $0["section"] as? String == name } }

        let decode = try #require(section("decode").first)
        #expect(decode["unit"] as? String == "tok/s")
        // stories260K streams ~1 MB per token: the bytes and flops per token follow from its shape.
        let tokens = try #require((decode["rate"] as? [String: Double])?["median"])
        let bytes = try #require((decode["gigabytesPerSecond"] as? [String: Double])?["median"]) * 1e9 / tokens
        #expect(bytes > 0.9e6 && bytes < 1.2e6, "\(bytes) bytes per token")
        #expect(decode["gigaflopsPerSecond"] != nil)
        #expect(section("prompt").first?["name"] as? String == "prompt stories260K.bin (16 tokens)")

        let quantize = section("quantize")
        #expect(quantize.map { $0["name"] as? String } == ["quantize → q8_0", "quantize → q4_0"])
        for q in quantize {
            #expect(q["unit"] as? String == "MB/s of input")
            #expect((q["peakRSSMiB"] as? Double ?? 0) > 1)
        }

        let kernels = section("kernels").compactMap { $0["name"] as? String }
        for type in Self.kernelTypes {
            #expect(kernels.contains("matvec \(type) 172×64 in cache"), "\(kernels)")
            #expect(kernels.contains("matvec \(type) streaming 8 MiB"), "\(kernels)")
            #expect(kernels.contains("batched \(type) 172×64 × 16"), "\(kernels)")
        }
    }

    @Test("the text table lists the selected sections only; an unknown section is a usage error")
    func table() throws {
        let r = try bench("--only", "bandwidth,decode")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("memory read bandwidth"))
        #expect(r.stdout.contains("decode stories260K.bin"))
        #expect(!r.stdout.contains("quantize") && !r.stdout.contains("matvec"))
        #expect(try bench("--only", "decode,warp").status == 2)
    }
}
