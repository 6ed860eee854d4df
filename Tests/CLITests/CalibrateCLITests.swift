import Foundation
import LLMQTestSupport
import Testing

/// `llmq calibrate` and `llmq quantize --imatrix` / `--scale-search` on stories260K, end to end.
@Suite("llmq calibrate")
struct CalibrateCLITests {
    @Test("calibrate writes an imatrix that quantize --imatrix uses and records; a bad imatrix exits 2")
    func calibrateThenQuantize() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let imatrix = dir + "/s.imatrix"
        let c = try Fixtures.llmq("calibrate", Fixtures.stories260K, "-z", Fixtures.tok512, "--text", Fixtures.tinyStories,
                                  "--ctx", "128", "--chunks", "3", "-o", imatrix)
        #expect(c.status == 0, "\(c.stderr)")
        #expect(c.stdout.contains("36 matrices, 3 chunks of 128 tokens"), "\(c.stdout)")

        var rmse: [String: Double] = [:]
        for (label, extra) in [("plain", []), ("search", ["--scale-search"]), ("imatrix", ["--imatrix", imatrix])] {
            let out = dir + "/\(label).q4"
            let q = try Fixtures.llmq(["quantize", Fixtures.stories260K, out, "-z", Fixtures.tok512, "--json"] + extra)
            #expect(q.status == 0, "\(q.stderr)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(q.stdout.utf8)) as? [String: Any])
            let recipe = try #require(summary["recipe"] as? [String: Any])
            #expect((recipe["scale_search"] as? Bool) == (label == "plain" ? nil : true), "\(recipe)")
            #expect((recipe["imatrix"] as? String) == (label == "imatrix" ? imatrix : nil))
            let rows = try #require(summary["tensors"] as? [[String: Any]])
            rmse[label] = try #require(rows.first { $0["name"] as? String == "blk.0.attn_q.weight" }?["rmse"] as? Double)
        }
        #expect(rmse["search"]! < rmse["plain"]!)

        try Fixtures.write(Array("GGUF not really".utf8), to: dir + "/bad.imatrix")
        let bad = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/bad.q4", "-z", Fixtures.tok512, "--imatrix", dir + "/bad.imatrix")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("bad.imatrix"), "\(bad.stderr)")
    }

    @Test("calibrate --sensitivity feeds quantize --target-bpw, which stays within the budget; without sensitivities it exits 2")
    func targetBPW() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["-z", Fixtures.tok512, "--text", Fixtures.tinyStories, "--ctx", "128", "--chunks", "2"]
        let c = try Fixtures.llmq(["calibrate", Fixtures.stories260K, "-o", dir + "/s.imatrix", "--sensitivity", "--sensitivity-ctx", "64",
                                   "--sensitivity-by", "tensor"] + common)
        #expect(c.status == 0, "\(c.stderr)")
        #expect(c.stdout.contains("sensitivities of 36 units"), "\(c.stdout)")
        var bits: [Double] = []
        for target in ["7.1", "7.6"] {
            let q = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/t\(target).q4", "-z", Fixtures.tok512, "--json",
                                      "--imatrix", dir + "/s.imatrix", "--target-bpw", target)
            #expect(q.status == 0, "\(q.stderr)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(q.stdout.utf8)) as? [String: Any])
            let bpw = try #require((summary["totals"] as? [String: Any])?["bitsPerWeight"] as? Double)
            #expect(bpw <= Double(target)!)
            bits.append(bpw)
        }
        #expect(bits[1] > bits[0])
        _ = try Fixtures.llmq(["calibrate", Fixtures.stories260K, "-o", dir + "/plain.imatrix"] + common)
        let bad = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/bad.q4", "-z", Fixtures.tok512, "--imatrix", dir + "/plain.imatrix",
                                    "--target-bpw", "7.5")
        #expect(bad.status == 2 && bad.stderr.contains("no sensitivities"), "\(bad.stderr)")
    }
}
