import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
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
        ("id out of range", { b in SavedReferenceTests.patchFirstRecord(b, at: 12, 7777) }, "outside the vocabulary"),
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

    /// Patches a uint32 inside the first record (offset 8 is its kept count, 12 its first id).
    static func patchFirstRecord(_ b: [UInt8], at field: Int, _ value: UInt32) -> [UInt8] {
        patch(b, at: tokenTableOffset(b) + 4 * 128 * 4 + field, value)
    }

    static func patch(_ b: [UInt8], at offset: Int, _ value: UInt32) -> [UInt8] {
        var b = b
        for i in 0..<4 { b[offset + i] = UInt8((value >> (8 * UInt32(i))) & 0xFF) }
        return b
    }
}
