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

    /// The split docs/verification.md uses: calibration text before line 1247, held-out text after.
    static func splitText(_ dir: String) throws -> (calibration: String, heldOut: String) {
        let lines = try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let paths = (dir + "/calibration.txt", dir + "/heldout.txt")
        try lines[..<1246].joined(separator: "\n").write(toFile: paths.0, atomically: true, encoding: .utf8)
        try lines[1246...].joined(separator: "\n").write(toFile: paths.1, atomically: true, encoding: .utf8)
        return paths
    }

    @Test("quantize --gptq collects on calibration text and lowers the divergence on held-out text below the imatrix search's")
    func gptq() throws {
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try Self.splitText(dir)
        let imatrix = dir + "/s.imatrix"
        let c = try Fixtures.llmq("calibrate", Fixtures.stories260K, "-z", Fixtures.tok512, "--text", text.calibration,
                                  "--ctx", "256", "--chunks", "8", "-o", imatrix)
        try #require(c.status == 0, "\(c.stderr)")
        var kld: [String: Double] = [:]
        for (label, extra) in [("imatrix", ["--imatrix", imatrix]), ("gptq", ["--gptq", text.calibration, "--gptq-chunks", "8", "--gptq-ctx", "256"])] {
            let out = dir + "/\(label).q4"
            let q = try Fixtures.llmq(["quantize", Fixtures.stories260K, out, "-z", Fixtures.tok512, "--json", "--preset", "pure"] + extra)
            try #require(q.status == 0, "\(q.stderr)")
            if label == "gptq" {
                let inspect = try Fixtures.llmq("inspect", out)
                #expect(inspect.stdout.contains("gptq=\(text.calibration), 8 chunks of 256 tokens"), "\(inspect.stdout)")
            }
            let v = try Fixtures.llmq("verify", Fixtures.stories260K, out, "-z", Fixtures.tok512, "--text", text.heldOut,
                                      "--ctx", "256", "--chunks", "8", "--json")
            try #require(v.status == 0, "\(v.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any])
            kld[label] = (((json["comparison"] as? [String: Any])?["kld"] as? [String: Any])?["mean"] as? [String: Any])?["value"] as? Double
        }
        #expect(kld["gptq"]! < 0.9 * kld["imatrix"]!, "\(kld)")
        let noText = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/none.q4", "-z", Fixtures.tok512, "--gptq", dir + "/missing.txt")
        #expect(noText.status != 0 && noText.stderr.contains("missing.txt"), "\(noText.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/none.q4"))
    }
}
