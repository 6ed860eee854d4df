import Foundation
import LLMQTestSupport
import Testing

/// `llmq quantize` on stories260K, end to end: the file, its record, and the text it generates.
@Suite("llmq quantize")
struct QuantizeCLITests {
    static let golden = Fixtures.golden("run/stories260K.t0.n256.txt")

    struct Quantized {
        var path: String
        var summary: [String: Any]
        var tensors: [String: [String: Any]]
    }

    func quantize(_ out: String, _ arguments: String...) throws -> Quantized {
        let path = try Fixtures.scratch() + "/" + out
        let r = try Fixtures.llmq(["quantize", Fixtures.stories260K, path, "-z", Fixtures.tok512, "--json"] + arguments)
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let rows = try #require(summary["tensors"] as? [[String: Any]])
        return Quantized(path: path, summary: summary,
                         tensors: Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as! String, $0) }))
    }

    func totals(_ q: Quantized) throws -> [String: Any] {
        try #require(q.summary["totals"] as? [String: Any])
    }

    /// Text up to the end of the second sentence.
    static func twoSentences(_ text: String) -> Substring {
        var ends = 0
        for i in text.indices where text[i] == "." {
            ends += 1
            if ends == 2 { return text[...i] }
        }
        return text[...]
    }

    @Test(".q8 means q8_0: ggml block sizes, the ffn_down fallback recorded, text agrees with fp32")
    func q8() throws {
        let q = try quantize("m.q8")
        #expect(q.tensors["blk.0.attn_q.weight"]?["to"] as? String == "q8_0")
        #expect(q.tensors["token_embd.weight"]?["to"] as? String == "q8_0")
        #expect(q.tensors["blk.0.attn_norm.weight"]?["to"] as? String == "f32")
        let down = try #require(q.tensors["blk.0.ffn_down.weight"])
        #expect(down["to"] as? String == "f16")
        #expect((down["reason"] as? String)?.contains("172") == true)
        #expect((down["snrDB"] as? Double ?? 0) > 60)
        #expect((q.tensors["blk.0.attn_q.weight"]?["snrDB"] as? Double ?? 0) > 35)
        // 34 bytes per 32 weights; ffn_down in f16, norms in f32 (sizes worked out by hand from the shapes).
        let t = try totals(q)
        #expect(t["parameters"] as? Int == 260_032)
        let stored = q.tensors.values.reduce(0) { $0 + ($1["storedBytes"] as! Int) }
        #expect(stored == 329_952)
        #expect(abs((t["bitsPerWeight"] as? Double ?? 0) - 329_952.0 * 8 / 260_032) < 1e-9)
        let run = try Fixtures.llmq("run", q.path, "-t", "0", "-n", "256")
        #expect(run.status == 0, "\(run.stderr)")
        let fp32 = try String(contentsOfFile: Self.golden, encoding: .utf8)
        #expect(Self.twoSentences(run.stdout) == Self.twoSentences(fp32))
    }

    @Test("q4_0 and q4_1: 4.5 and 5 bits per block weight, the classifier at q8_0, fluent text", arguments: ["q4_0", "q4_1"])
    func q4(type: String) throws {
        let q = try quantize("m.q4", "--type", type)
        #expect(q.tensors["blk.3.ffn_up.weight"]?["to"] as? String == type)
        #expect(q.tensors["token_embd.weight"]?["to"] as? String == "q8_0")
        let perBlock = type == "q4_0" ? 18 : 20
        let layer = (4096 + 2048 * 2 + 4096 + 11008 * 2) / 32 * perBlock + 11008 * 2 + 2 * 64 * 4
        let stored = q.tensors.values.reduce(0) { $0 + ($1["storedBytes"] as! Int) }
        #expect(stored == 5 * layer + 32768 / 32 * 34 + 64 * 4)
        try expectEveryByteAccounted(q.path)
        #expect(try Fixtures.llmq("inspect", q.path, "--check").status == 0)
        let run = try Fixtures.llmq("run", q.path, "-t", "0", "-n", "200")
        #expect(run.status == 0, "\(run.stderr)")
        // Fluent: real words, sentences, the story's opening.
        #expect(run.stdout.hasPrefix("Once upon a time"), "\(run.stdout)")
        let words = run.stdout.split { !$0.isLetter }
        #expect(words.count > 25 && words.allSatisfy { $0.count < 15 }, "\(run.stdout)")
    }

    @Test("group sizes are recorded in the dtype; a group wider than the row falls back to one that fits")
    func groups() throws {
        let g64 = try quantize("g64.q4", "--group", "64")
        #expect(g64.tensors["blk.0.attn_q.weight"]?["to"] as? String == "q4_0_g64")
        let g128 = try quantize("g128.llmq", "--type", "q8_0", "--group", "128")
        let q = try #require(g128.tensors["blk.0.attn_q.weight"])
        #expect(q["to"] as? String == "q8_0_g64")
        #expect((q["reason"] as? String)?.contains("64") == true)
        let inspect = try Fixtures.llmq("inspect", g128.path)
        #expect(inspect.stdout.contains("recipe: q8_0, group 128"))
        #expect(try Fixtures.llmq("inspect", g64.path, "--check").status == 0)
    }

    @Test("--tensor-type rules pick types by regex, first match wins")
    func rules() throws {
        let q = try quantize("r.q4", "--tensor-type", "attn_v=q8_0", "--tensor-type", "^blk\\.0\\.=f16", "--tensor-type", "blk\\.0\\.attn_v=q4_1")
        #expect(q.tensors["blk.0.attn_v.weight"]?["to"] as? String == "q8_0")
        #expect(q.tensors["blk.0.attn_q.weight"]?["to"] as? String == "f16")
        #expect(q.tensors["blk.1.attn_q.weight"]?["to"] as? String == "q4_0")
        #expect(q.tensors["blk.4.attn_v.weight"]?["to"] as? String == "q8_0")
        let inspect = try Fixtures.llmq("inspect", q.path, "--json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        let container = try #require(json["container"] as? [String: Any])
        let metadata = try #require(container["metadata"] as? [String: Any])
        let recipe = try #require((metadata["quantization"] as? [String: Any])?["recipe"] as? [String: Any])
        #expect((recipe["rules"] as? [[String: Any]])?.count == 3)
    }

    @Test("--zstd stores compressible tensors compressed; the file checks, runs and dequantizes")
    func zstd() throws {
        let q = try quantize("z.q8", "--zstd=9")
        #expect(q.tensors.values.contains { ($0["storedBytes"] as! Int) < ($0["bytes"] as! Int) })
        #expect(try Fixtures.llmq("inspect", q.path, "--check").status == 0)
        let run = try Fixtures.llmq("run", q.path, "-t", "0", "-n", "64")
        #expect(run.status == 0 && run.stdout.hasPrefix("Once upon a time"), "\(run.stderr)")
        let dir = try Fixtures.scratch()
        for out in [dir + "/f.llmq", dir + "/f.bin"] {
            let r = try Fixtures.llmq("dequantize", q.path, out)
            #expect(r.status == 0, "\(r.stderr)")
            let back = try Fixtures.llmq("run", out, "-z", Fixtures.tok512, "-t", "0", "-n", "64")
            #expect(back.stdout == run.stdout)
        }
    }

    @Test("quantize and convert also write GGUF and safetensors, chosen by the extension")
    func otherFormats() throws {
        let gguf = try quantize("m.gguf", "--type", "q8_0")
        #expect(gguf.tensors["blk.0.attn_q.weight"]?["to"] as? String == "q8_0")
        let run = try Fixtures.llmq("run", gguf.path, "-t", "0", "-n", "256")
        #expect(run.status == 0, "\(run.stderr)")
        let fp32 = try String(contentsOfFile: Self.golden, encoding: .utf8)
        #expect(Self.twoSentences(run.stdout) == Self.twoSentences(fp32))
        let st = try Fixtures.scratch() + "/m.safetensors"
        #expect(try Fixtures.llmq("convert", Fixtures.stories260K, st, "-z", Fixtures.tok512).status == 0)
        #expect(try Fixtures.llmq("run", st, "-t", "0", "-n", "256").stdout == fp32)
    }

    @Test("a GGUF whose rows are whole 256-blocks quantizes to q4_K: llama.cpp's Q4_K_M file type, and it runs")
    func kQuantGGUF() throws {
        let dir = try Fixtures.scratch()
        let synth = try Fixtures.llmq("synth", dir + "/m.bin", "--dim", "256", "--hidden-dim", "512", "--layers", "1",
                                      "--heads", "4", "--vocab", "512", "--tokenizer", dir + "/tok.bin")
        #expect(synth.status == 0, "\(synth.stderr)")
        #expect(try Fixtures.llmq("convert", dir + "/m.bin", dir + "/m.gguf", "-z", dir + "/tok.bin").status == 0)
        let r = try Fixtures.llmq("quantize", dir + "/m.gguf", dir + "/q.gguf", "--type", "q4_K")
        #expect(r.status == 0, "\(r.stderr)")
        let inspect = try Fixtures.llmq("inspect", dir + "/q.gguf", "--json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
        let dtypes = Dictionary(uniqueKeysWithValues: try #require(json["tensors"] as? [[String: Any]]).map {
            ($0["name"] as! String, $0["dtype"] as! String)
        })
        #expect(dtypes["blk.0.attn_q.weight"] == "q4_K" && dtypes["blk.0.ffn_down.weight"] == "q4_K", "\(dtypes)")
        #expect((json["metadata"] as? [String: String])?["general.file_type"] == "15")
        #expect(try Fixtures.llmq("run", dir + "/q.gguf", "-t", "0", "-n", "16").status == 0)
    }

    @Test("the text summary lists every tensor, fallbacks with reasons, and the totals")
    func textSummary() throws {
        let out = try Fixtures.scratch() + "/m.q4"
        let r = try Fixtures.llmq("quantize", Fixtures.stories260K, out, "-z", Fixtures.tok512)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("blk.4.ffn_down.weight"))
        #expect(r.stdout.contains("not a multiple"))
        #expect(r.stdout.contains("bits per weight"))
        #expect(r.stdout.contains("MB/s of input"))
    }

    @Test("bad requests: no type for the extension, a llama2.c output, overwriting the input; nothing is written")
    func refusals() throws {
        let dir = try Fixtures.scratch()
        let noType = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/m.llmq")
        #expect(noType.status == 2 && noType.stderr.contains("--type"))
        let bin = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/m.bin", "--type", "q8_0")
        #expect(bin.status == 2)
        let badType = try Fixtures.llmq("quantize", Fixtures.stories260K, dir + "/m.q4", "--type", "q3_0")
        #expect(badType.status == 2)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        let q = try quantize("m.q8")
        let over = try Fixtures.llmq("quantize", q.path, q.path, "--type", "q4_0")
        #expect(over.status == 2 && over.stderr.contains("refusing to overwrite"))
    }
}
