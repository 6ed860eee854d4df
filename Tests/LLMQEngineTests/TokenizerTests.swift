import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQTestSupport
import Testing

@Suite("SentencePiece tokenizer")
struct TokenizerTests {
    /// tok512.bin, read once. A fixture that cannot be read fails the tests that use it, not the
    /// whole test run (as a `try!` here once did).
    static let loaded = Result { () throws -> (vocabulary: TokenizerData, tokenizer: SentencePieceTokenizer) in
        let vocabulary = try Llama2CTokenizerFile.read(path: Fixtures.tok512)
        return (vocabulary, try SentencePieceTokenizer(vocabulary))
    }
    static var tokenizer: SentencePieceTokenizer { get throws { try loaded.get().tokenizer } }

    /// run.c's encoder, transcribed literally: rescan every pair after each merge.
    static func referenceEncode(_ text: String) throws -> [Int] {
        let v = try loaded.get().vocabulary
        var ids: [[UInt8]: Int] = [:]
        for (i, p) in v.pieces.enumerated() where ids[p] == nil { ids[p] = i }
        var tokens: [Int] = text.isEmpty ? [] : [ids[[0x20]]!]
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            var j = i + 1
            while j < bytes.count, j - i < 4, bytes[j] & 0xC0 == 0x80 { j += 1 }
            if let id = ids[Array(bytes[i..<j])] { tokens.append(id) } else { tokens += bytes[i..<j].map { Int($0) + 3 } }
            i = j
        }
        while true {
            var best: (score: Float, id: Int, index: Int) = (-1e10, -1, -1)
            for k in 0..<max(tokens.count - 1, 0) {
                if let id = ids[v.pieces[tokens[k]] + v.pieces[tokens[k + 1]]], v.scores[id] > best.score { best = (v.scores[id], id, k) }
            }
            if best.index < 0 { break }
            tokens[best.index] = best.id
            tokens.remove(at: best.index + 1)
        }
        return tokens
    }

    @Test("the heap encoder picks the same merges as run.c's quadratic loop")
    func sameAsReference() throws {
        let sample = try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8)
        var texts = ["", " ", "a", "Once upon a time", "  two  spaces ", "naïve café — 日本語 🙂", "\n\nLily\tsaid \"hi\"."]
        var start = sample.startIndex
        for _ in 0..<6 {
            let end = sample.index(start, offsetBy: 1500, limitedBy: sample.endIndex) ?? sample.endIndex
            texts.append(String(sample[start..<end]))
            start = end
        }
        for text in texts {
            #expect(try Self.tokenizer.encode(text, bos: false, eos: false) == Self.referenceEncode(text), "\(text.prefix(40))")
        }
    }

    @Test("BOS/EOS, the leading space and byte fallback")
    func conventions() throws {
        let t = try Self.tokenizer
        let ids = t.encode("Hi 🙂", bos: true, eos: true)
        #expect(ids.first == 1 && ids.last == 2)
        // 🙂 is not in a 512-token vocabulary: four <0xNN> byte tokens.
        let bytePieces = ids.filter { (3...258).contains($0) }
        #expect(bytePieces == Array("🙂".utf8).map { Int($0) + 3 })
        // Decoding drops the leading space after BOS and turns byte tokens back into bytes.
        var bytes: [UInt8] = []
        var previous = ids[0]
        for id in ids.dropFirst().dropLast() {
            bytes += t.decode(previous: previous, token: id)
            previous = id
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "Hi 🙂")
    }

    @Test("decode(encode(text)) returns the text for the TinyStories sample")
    func roundTrip() throws {
        let sample = String(try String(contentsOfFile: Fixtures.tinyStories, encoding: .utf8).prefix(20000))
        let tokenizer = try Self.tokenizer
        let ids = tokenizer.encode(sample, bos: true, eos: false)
        var bytes: [UInt8] = []
        for k in 1..<ids.count { bytes += tokenizer.decode(previous: ids[k - 1], token: ids[k]) }
        #expect(String(decoding: bytes, as: UTF8.self) == sample)
        #expect(ids.count < sample.utf8.count / 2, "merges compress the text")
    }
}
