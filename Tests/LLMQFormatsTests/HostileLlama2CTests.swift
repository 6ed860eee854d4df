import Foundation
import LLMQCore
import LLMQFormats
import LLMQTestSupport
import Testing

/// Bad checkpoints and tokenizers: each must give an LLMQError naming the file, never a crash.
@Suite("llama2.c bad input")
struct HostileLlama2CTests {
    static let header: [Int32] = [64, 172, 5, 8, 4, 512, 512]

    func expectError(_ bytes: [UInt8], kind: LLMQError.Kind? = nil, mentioning text: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = try Fixtures.scratch()
        let path = dir + "/bad.bin"
        try Fixtures.write(bytes, to: path)
        do {
            _ = try Llama2CReader.read(path: path)
            Issue.record("expected an error", sourceLocation: sourceLocation)
        } catch let e as LLMQError {
            #expect(e.file == path, sourceLocation: sourceLocation)
            if let kind { #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation) }
            if let text { #expect(e.description.contains(text), "\(e)", sourceLocation: sourceLocation) }
        }
    }

    @Test("empty file") func empty() throws { try expectError([], kind: .truncated, mentioning: "empty") }

    @Test("truncated header") func shortHeader() throws {
        try expectError(Fixtures.int32s([64, 172, 5]), kind: .truncated, mentioning: "n_heads")
    }

    @Test("truncated tensor data") func truncated() throws {
        let bytes = try Fixtures.read(Fixtures.stories260K)
        try expectError(Array(bytes.prefix(500_000)), kind: .truncated, mentioning: "needs 1056540 bytes")
    }

    @Test("extra bytes after the tensors") func trailing() throws {
        try expectError(try Fixtures.read(Fixtures.stories260K) + [0, 0, 0, 0], mentioning: "4 bytes after the last tensor")
    }

    @Test("negative, zero and absurd header values", arguments: [
        [Int32(-64), 172, 5, 8, 4, 512, 512], [64, 0, 5, 8, 4, 512, 512], [64, 172, 5, 8, 4, Int32.min, 512],
        [64, 172, Int32.max, 8, 4, 512, 512], [64, 172, 5, 7, 4, 512, 512], [64, 172, 5, 8, 3, 512, 512],
        [64, 172, 5, 8, 16, 512, 512], [1 << 24, 1 << 24, 1 << 24, 1, 1, 1 << 24, 1 << 24],
    ])
    func badHeader(values: [Int32]) throws {
        try expectError(Fixtures.int32s(values) + [UInt8](repeating: 0, count: 64), kind: nil)
    }

    @Test("dims that do not fit the file length") func wrongDims() throws {
        var bytes = try Fixtures.read(Fixtures.stories260K)
        bytes.replaceSubrange(0..<4, with: Fixtures.int32s([128]))
        try expectError(bytes, kind: .truncated, mentioning: "dim 128")
    }

    @Test("versioned header: unknown version, bad flag, bad group size, short header") func versioned() throws {
        let magic = Fixtures.int32s([0x616b_3432])
        try expectError(magic + Fixtures.int32s([7]), kind: .unsupported, mentioning: "version 7")
        try expectError(magic + Fixtures.int32s([1] + Self.header) + [5], mentioning: "shared_classifier")
        try expectError(magic + Fixtures.int32s([2] + Self.header) + [1] + Fixtures.int32s([0]), mentioning: "group size 0")
        try expectError(magic + Fixtures.int32s([1] + Self.header) + [1], kind: .truncated, mentioning: "256-byte header")
    }

    @Test("tokenizer with bad lengths, negative lengths, truncation, no tokens")
    func badTokenizer() throws {
        let dir = try Fixtures.scratch()
        func expectBad(_ bytes: [UInt8], _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try Fixtures.write(bytes, to: dir + "/tok.bin")
            do {
                _ = try Llama2CTokenizerFile.read(path: dir + "/tok.bin")
                Issue.record("expected an error", sourceLocation: sourceLocation)
            } catch let e as LLMQError {
                #expect(e.file == dir + "/tok.bin", sourceLocation: sourceLocation)
                #expect(e.description.contains(text), "\(e)", sourceLocation: sourceLocation)
            }
        }
        let score = Fixtures.int32s([0])
        try expectBad([], "empty")
        try expectBad(Fixtures.int32s([-3]), "max_token_length")
        try expectBad(Fixtures.int32s([4]) + score + Fixtures.int32s([9]) + [1, 2, 3, 4, 5, 6, 7, 8, 9], "length 9")
        try expectBad(Fixtures.int32s([4]) + score + Fixtures.int32s([-1]), "length -1")
        try expectBad(Fixtures.int32s([4]) + score + Fixtures.int32s([4]) + [1, 2], "token 0")
        try expectBad(Fixtures.int32s([4]) + score, "length of token 0")
        try expectBad(Fixtures.int32s([4]), "0 tokens")
    }
}
