import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import LLMQVerify
import Testing

/// `--save-reference` files (formats/reference-logits.md): a comparison against the saved file must
/// give what the live comparison gave, and damaged files must be refused with a clear error.
@Suite("saved reference logits")
struct SavedReferenceTests {
    /// Live comparison of stories260K against a rounded copy, saving the reference on the way.
    static func liveAndSaved(_ dir: String) throws -> (live: LogitComparison, saved: LogitComparison, file: SavedReference) {
        let model = try Harness.stories260K()
        let candidate = try ModelViews.rounded(model, mantissaBits: 5)
        let path = dir + "/ref.llmqref"
        let live = try Harness.compare(model, candidate, ctx: 128, chunks: 4, save: path)
        let file = try SavedReference.read(path: path)
        let saved = try Verification.compare(reference: .saved(file), candidate: Harness.runner(candidate, file.plan),
                                             tokens: file.tokens, plan: file.plan)
        return (live, saved, file)
    }

    @Test("the saved path gives the live metrics: exact but for KLD, which agrees within 0.5 %")
    func sameMetrics() throws {
        let (live, saved, file) = try Self.liveAndSaved(try Fixtures.scratch())
        #expect(file.header.chunkCount == 4 && file.header.contextLength == 128 && file.summaries.count == 4 * 63)
        #expect(file.plan == (try Harness.plan(try Harness.tokens(try Harness.stories260K()), ctx: 128, chunks: 4)))
        #expect(saved.scoredTokens == live.scoredTokens)
        for (a, b) in [(saved.referencePPL.value, live.referencePPL.value), (saved.candidatePPL.value, live.candidatePPL.value),
                       (saved.lnPPLRatio.value, live.lnPPLRatio.value), (saved.pplDelta.value, live.pplDelta.value),
                       (saved.deltaPMeanPercent.value, live.deltaPMeanPercent.value),
                       (saved.deltaPRMSPercent.value, live.deltaPRMSPercent.value)] {
            #expect(Harness.close(a, b, relative: 1e-5, absolute: 1e-7), "\(a) vs \(b)")
        }
        #expect(saved.sameTopPercent == live.sameTopPercent)
        #expect(saved.top5OverlapPercent == live.top5OverlapPercent)
        for (a, b) in [(saved.kld.mean.value, live.kld.mean.value), (saved.kld.median, live.kld.median),
                       (saved.kld.p90, live.kld.p90), (saved.kld.p99, live.kld.p99), (saved.kld.max, live.kld.max)] {
            #expect(Harness.close(a, b, relative: 5e-3, absolute: 1e-7), "KLD \(a) vs \(b)")
            #expect(a <= b + 1e-9, "the tail approximation never exceeds the exact KLD")
        }
        #expect(live.kldMethod.contains("exact") && saved.kldMethod.contains("saved reference"))
    }

    /// A random model of 2048 tokens (its logits nearly uniform, so 16 kept tokens leave most of the
    /// probability outside) and a copy rounded to 3 mantissa bits.
    static func nearlyUniform() throws -> (reference: Model, candidate: Model) {
        let config = ModelConfig(dim: 64, hiddenDim: 128, layerCount: 2, headCount: 4, kvHeadCount: 2, vocabSize: 2048, contextLength: 64)
        let reference = try SyntheticModel.make(config: config, seed: 3)
        return (reference, try ModelViews.rounded(reference, mantissaBits: 3))
    }

    /// The two on random tokens: live, and saved with 16 kept tokens and `sampleRate` tail samples
    /// per unit of probability.
    static func uncovered(sampleRate: Int, _ dir: String) throws -> (live: LogitComparison, saved: LogitComparison, file: SavedReference) {
        let (reference, candidate) = try nearlyUniform()
        var random = SplitMix64(seed: 11)
        // A stream as a BOS-adding vocabulary tokenizes it: BOS first (version 1 files rely on that).
        let tokens = [1] + (1..<256).map { _ in Int(random.next() % 2048) }
        let plan = try Harness.plan(tokens, ctx: 64, chunks: 4)
        let path = dir + "/uncovered-\(sampleRate).llmqref"
        let header = SavedReference.Header(plan: plan, model: reference, tokenizer: try Tokenizers.make(reference.tokenizer!), text: nil,
                                           maxKept: 16, tailSampleRate: sampleRate)
        let writer = try ReferenceLogitsWriter(path: path, header: header, tokens: tokens, refusingToOverwrite: [])
        let live = try Verification.compare(reference: .model(Harness.runner(reference, plan)), candidate: Harness.runner(candidate, plan),
                                            tokens: tokens, plan: plan, save: writer)
        try writer.commit()
        let file = try SavedReference.read(path: path)
        let saved = try Verification.compare(reference: .saved(file), candidate: Harness.runner(candidate, plan), tokens: tokens, plan: plan)
        return (live, saved, file)
    }

    static func statistics(_ c: LogitComparison) -> [(String, Double)] {
        [("mean", c.kld.mean.value), ("median", c.kld.median), ("p90", c.kld.p90), ("p99", c.kld.p99), ("max", c.kld.max)]
    }

    @Test("where 16 kept tokens leave more than the bound outside, the comparison says where, how much, and bounds its error")
    func uncoveredTail() throws {
        let dir = try Fixtures.scratch()
        let (live, saved, file) = try Self.uncovered(sampleRate: 1024, dir)
        #expect(live.uncoveredTail == nil)
        let u = try #require(saved.uncoveredTail)
        let tails = file.summaries.map { exp(Double($0.tailLogProb)) }
        #expect(u.positions == tails.filter { $0 > 1e-4 }.count && u.positions == saved.scoredTokens)
        #expect(abs(u.worstTailMass - tails.max()!) <= 1e-6 * tails.max()!)
        #expect(u.bound == 1e-4 && u.sampleRate == 1024 && u.fileVersion == 2)
        #expect(file.summaries.allSatisfy {
            abs($0.sampleIDs.count - ReferenceSummary.sampleCount(tailMass: exp(Double($0.tailLogProb)), rate: 1024)) <= 1
        })
        for ((name, s), (_, l)) in zip(Self.statistics(saved), Self.statistics(live)) {
            // Within the stated worst case whatever the tail holds; with the samples, much closer.
            #expect(abs(s - l) <= (name == "mean" ? u.meanKLDErrorBound : u.maxKLDErrorBound), "\(name): \(s) vs \(l), \(u)")
            #expect(Harness.close(s, l, relative: 0.05), "\(name): \(s) vs \(l)")
        }
        #expect(abs(saved.kld.mean.value - live.kld.mean.value) <= 4 * u.meanKLDSampleError, "\(u)")
        #expect(u.meanKLDErrorBound > 0 && u.meanKLDErrorBound <= u.maxKLDErrorBound)
    }

    @Test("without tail samples, an uncovered tail counts as one outcome: every KLD figure is a lower bound, and said to be")
    func uncoveredTailWithoutSamples() throws {
        let (live, saved, file) = try Self.uncovered(sampleRate: 0, try Fixtures.scratch())
        let u = try #require(saved.uncoveredTail)
        #expect(u.sampleRate == 0 && u.meanKLDSampleError == 0 && file.summaries.allSatisfy { $0.sampleIDs.isEmpty })
        for ((name, s), (_, l)) in zip(Self.statistics(saved), Self.statistics(live)) {
            #expect(s <= l + 1e-9 && l - s <= (name == "mean" ? u.meanKLDErrorBound : u.maxKLDErrorBound), "\(name): \(s) vs \(l)")
        }
    }

    @Test("a version 1 file (no tail samples) still reads and compares as before, with the warning's figures")
    func versionOne() throws {
        let dir = try Fixtures.scratch()
        let (_, saved, file) = try Self.uncovered(sampleRate: 0, dir)
        let path = dir + "/v1.llmqref"
        try Fixtures.write(Self.versionOne(try Fixtures.read(file.path), tokens: file.tokens.count), to: path)
        let old = try SavedReference.read(path: path)
        #expect(old.version == 1 && old.header.tailSampleRate == 0 && old.tokens == file.tokens && old.summaries == file.summaries)
        let again = try Verification.compare(reference: .saved(old), candidate: Harness.runner(try Self.nearlyUniform().candidate, old.plan),
                                             tokens: old.tokens, plan: old.plan)
        #expect(again.kld.mean.value == saved.kld.mean.value && again.kld.max == saved.kld.max)
        #expect(again.uncoveredTail?.fileVersion == 1 && again.uncoveredTail?.positions == saved.uncoveredTail?.positions)
    }

    /// A version 2 file without tail samples rewritten as version 1: no `tailSampleRate` in the header,
    /// no sample count in the records.
    static func versionOne(_ b: [UInt8], tokens: Int) -> [UInt8] {
        var out = withHeader(b) { $0.replacingOccurrences(of: "\"tailSampleRate\":0,", with: "")
            .replacingOccurrences(of: "\"substitutesBOS\":true,", with: "") }
        out[8] = 1
        out = Array(out[0..<tokenTableOffset(out)])
        var at = tokenTableOffset(b) + 4 * tokens
        out += b[tokenTableOffset(b)..<at]
        while at < b.count {
            let kept = Int(b[at + 8]) | Int(b[at + 9]) << 8 | Int(b[at + 10]) << 16
            let end = at + 16 + 8 * kept
            out += b[at..<(at + 12)]
            out += b[(at + 16)..<end]
            at += 16 + 8 * kept
        }
        return out
    }

    @Test("a candidate run with other settings or tokens is refused")
    func settingsMustMatch() throws {
        let dir = try Fixtures.scratch()
        let (_, _, file) = try Self.liveAndSaved(dir)
        let model = try Harness.stories260K()
        let otherPlan = try Harness.plan(file.tokens, ctx: 128, chunks: 3)
        #expect(throws: LLMQError.self) {
            try Verification.compare(reference: .saved(file), candidate: Harness.runner(model, otherPlan), tokens: file.tokens, plan: otherPlan)
        }
        var tokens = file.tokens
        tokens[5] = (tokens[5] + 1) % 512
        #expect(throws: LLMQError.self) {
            try Verification.compare(reference: .saved(file), candidate: Harness.runner(model, file.plan), tokens: tokens, plan: file.plan)
        }
    }

    /// A valid file's bytes, made once for all damage cases.
    static let pristine = Result<[UInt8], any Error> {
        let dir = try Fixtures.scratch()
        _ = try liveAndSaved(dir)
        return try Fixtures.read(dir + "/ref.llmqref")
    }

    /// Each damage, and a phrase the error must contain.
    static let damages: [(String, @Sendable ([UInt8]) -> [UInt8], String)] = [
        ("bad magic", { var b = $0; b[0] = 0x58; return b }, "not an llmq reference-logits file"),
        ("future version", { var b = $0; b[8] = 9; return b }, "version 9"),
        ("huge header length", { var b = $0; b[15] = 0x7F; return b }, "header length"),
        ("truncated", { Array($0.dropLast(7)) }, "record"),
        ("trailing bytes", { $0 + [0, 0, 0, 0] }, "follow the last record"),
        ("token out of range", { b in SavedReferenceTests.patchFirstToken(b, 4096) }, "outside the vocabulary"),
        ("kept count out of range", { b in SavedReferenceTests.patchFirstRecord(b, at: 8, 100_000) }, "keeps 100000 tokens"),
        ("sample count out of range", { b in SavedReferenceTests.patchFirstRecord(b, at: 12, 70000) }, "draws 70000 tail samples"),
        ("id out of range", { b in SavedReferenceTests.patchFirstRecord(b, at: 16, 7777) }, "outside the vocabulary"),
        ("ids out of order", { b in SavedReferenceTests.swapFirstTwo(b) }, "out of order"),
        ("duplicate key", { b in withHeader(b) { "{\"vocabSize\":512," + $0.dropFirst() } }, #"duplicate key "vocabSize""#),
        ("bytes after the header's object", { b in withHeader(b) { $0 + " {}" } }, "after the JSON value"),
        ("deep nesting", { b in withHeader(b) { "{\"x\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "," + $0.dropFirst() } },
         "nesting deeper than 64"),
        ("integer as a string", { b in withHeader(b) { $0.replacingOccurrences(of: "\"vocabSize\":512", with: "\"vocabSize\":\"512\"") } },
         "'vocabSize' is a string, expected an integer"),
        ("boolean as a number", { b in withHeader(b) { $0.replacingOccurrences(of: "\"scoreAll\":false", with: "\"scoreAll\":0") } },
         "'scoreAll' is an integer, expected a boolean"),
        ("missing key", { b in withHeader(b) { $0.replacingOccurrences(of: "\"tokenizer\":", with: "\"tokeniser\":") } },
         "'tokenizer' is missing"),
        ("not an object", { b in withHeader(b) { "[" + $0 + "]" } }, "the document is an array, expected an object"),
    ]

    @Test("damaged files are refused with an error naming the file and the problem",
          arguments: SavedReferenceTests.damages.indices)
    func damaged(index: Int) throws {
        let (name, damage, phrase) = Self.damages[index]
        let path = try Fixtures.scratch() + "/damaged.llmqref"
        try Fixtures.write(damage(try Self.pristine.get()), to: path)
        do {
            _ = try SavedReference.read(path: path)
            Issue.record("\(name): accepted")
        } catch let e as LLMQError {
            #expect(e.file == path)
            #expect(e.description.contains(phrase) && !e.description.contains("\n"), "\(name): \(e.description)")
        }
    }

    /// Offset of the token table: after the 16-byte preamble and the JSON header, padded to 8.
    static func tokenTableOffset(_ b: [UInt8]) -> Int {
        let headerLength = Int(b[12]) | Int(b[13]) << 8 | Int(b[14]) << 16 | Int(b[15]) << 24
        return (16 + headerLength + 7) / 8 * 8
    }

    /// `b` with its JSON header rewritten by `edit` (length and padding follow).
    static func withHeader(_ b: [UInt8], _ edit: (String) -> String) -> [UInt8] {
        let headerLength = Int(b[12]) | Int(b[13]) << 8 | Int(b[14]) << 16 | Int(b[15]) << 24
        let json = Array(edit(String(decoding: b[16..<(16 + headerLength)], as: UTF8.self)).utf8)
        var out = Array(b[0..<12]) + withUnsafeBytes(of: UInt32(json.count).littleEndian) { Array($0) } + json
        out += [UInt8](repeating: 0, count: (8 - out.count % 8) % 8)
        return out + b[tokenTableOffset(b)...]
    }

    static func patchFirstToken(_ b: [UInt8], _ value: UInt32) -> [UInt8] {
        patch(b, at: tokenTableOffset(b), value)
    }

    /// The first record with its first two tokens (and their log-probabilities) swapped.
    static func swapFirstTwo(_ b: [UInt8]) -> [UInt8] {
        let record = tokenTableOffset(b) + 4 * 128 * 4
        let kept = Int(b[record + 8]) | Int(b[record + 9]) << 8
        var b = b
        for field in [record + 16, record + 16 + 4 * kept] {
            let first = Array(b[field..<(field + 4)])
            b.replaceSubrange(field..<(field + 4), with: b[(field + 4)..<(field + 8)])
            b.replaceSubrange((field + 4)..<(field + 8), with: first)
        }
        return b
    }

    /// Patches a uint32 inside the first record (offset 8 is its kept count, 12 its sample count, 16 its first id).
    static func patchFirstRecord(_ b: [UInt8], at field: Int, _ value: UInt32) -> [UInt8] {
        patch(b, at: tokenTableOffset(b) + 4 * 128 * 4 + field, value)
    }

    static func patch(_ b: [UInt8], at offset: Int, _ value: UInt32) -> [UInt8] {
        var b = b
        for i in 0..<4 { b[offset + i] = UInt8((value >> (8 * UInt32(i))) & 0xFF) }
        return b
    }
}

/// The case that once hid divergence: SmolLM2's 49,152-token vocabulary on text it finds hard,
/// where no affordable list of tokens leaves less than 1e-4 outside (issue 14).
@Suite("saved reference logits on SmolLM2", .smolLM2)
struct SmolLM2SavedReferenceTests {
    @Test("on technical prose every KLD statistic from a saved reference is within 0.5 % of the direct one, for q4_0 and q8_0")
    func hardText() throws {
        let reference = try ModelFile.open(try Fixtures.smolLM2())
        let tokenizer = try Tokenizers.make(reference.tokenizer!)
        let tokens = tokenizer.encode(try String(contentsOfFile: Fixtures.xzManual, encoding: .utf8), bos: true, eos: false)
        let plan = try EvaluationPlan(tokenCount: tokens.count, contextLength: 512, scoreAll: false, bosID: tokenizer.bosID)
        let path = try Fixtures.scratch() + "/smollm2.llmqref"
        for (n, type) in ["q4_0", "q8_0"].enumerated() {
            let candidate = try Quantizer.view(of: reference, plan: try QuantizationRecipe(type: type).plan(for: reference))
            let writer = try n == 0 ? ReferenceLogitsWriter(path: path, header: SavedReference.Header(plan: plan, model: reference,
                                                                                                       tokenizer: tokenizer, text: nil),
                                                            tokens: tokens, refusingToOverwrite: []) : nil
            let direct = try Verification.compare(reference: .model(Harness.runner(reference, plan)), candidate: Harness.runner(candidate, plan),
                                                  tokens: tokens, plan: plan, save: writer)
            try writer?.commit()
            let file = try SavedReference.read(path: path)
            let saved = try Verification.compare(reference: .saved(file), candidate: Harness.runner(candidate, plan), tokens: tokens, plan: plan)
            for ((name, s), (_, d)) in zip(SavedReferenceTests.statistics(saved), SavedReferenceTests.statistics(direct)) {
                #expect(Harness.close(s, d, relative: 5e-3), "\(type) KLD \(name): saved \(s), direct \(d)")
            }
            // Hard text: most positions keep 1024 tokens and still leave more than 1e-4 outside; the
            // comparison says so, and its worst case holds.
            let u = try #require(saved.uncoveredTail)
            #expect(u.positions > plan.scoredTotal / 2 && u.sampleRate == Verification.defaultTailSampleRate, "\(u)")
            #expect(abs(saved.kld.mean.value - direct.kld.mean.value) <= u.meanKLDErrorBound)
            #expect(abs(saved.kld.mean.value - direct.kld.mean.value) <= 5 * u.meanKLDSampleError + 1e-9, "\(u)")
        }
    }
}
