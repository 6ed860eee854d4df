import LLMQCore

/// llama2.c's tokenizer (and GGUF's `llama` vocabularies): text is split into UTF-8 characters,
/// characters missing from the vocabulary fall back to `<0xNN>` byte tokens, then the adjacent
/// pair whose merge has the highest score is merged until none is in the vocabulary.
///
/// run.c rescans every pair after each merge (quadratic); `PairMerge` picks the same pair —
/// highest score, leftmost on ties — in O(n log n), so a whole perplexity corpus encodes in
/// milliseconds.
public struct SentencePieceTokenizer: Tokenizer {
    public let vocabSize: Int
    public let bosID: Int
    public let eosID: Int
    public let addsBOS: Bool
    private let pieces: [[UInt8]]
    private let scores: [Float]
    private let ids: [[UInt8]: Int]
    /// byte value → the token a byte missing from the vocabulary becomes (or -1: dropped).
    private let byteTokens: [Int]
    private let spaceID: Int?

    public init(_ data: TokenizerData) throws {
        guard data.pieces.count == data.scores.count else {
            throw LLMQError(.invalid, "tokenizer has \(data.pieces.count) pieces but \(data.scores.count) scores")
        }
        try data.checkSpecialTokens()
        let count = data.pieces.count
        vocabSize = count
        bosID = data.bosID
        eosID = data.eosID
        addsBOS = data.addBOS
        // GGUF and SentencePiece spell the space as U+2581 "▁"; llama2.c files spell it " ".
        pieces = data.pieces.map(SentencePieceTokenizer.spaces)
        scores = data.scores
        var ids: [[UInt8]: Int] = [:]
        for (i, p) in pieces.enumerated() where ids[p] == nil { ids[p] = i }
        self.ids = ids
        // Its `<0xNN>` piece; else run.c's `byte + 3` (where llama2.c vocabularies keep those pieces)
        // when the vocabulary is that large; else the unknown token, as llama.cpp falls back.
        let unknown = data.unknownID.flatMap { (0..<count).contains($0) ? $0 : nil } ?? -1
        byteTokens = (0..<256).map { b in
            let hex = String(b, radix: 16, uppercase: true)
            return ids[Array("<0x\(hex.count == 1 ? "0" + hex : hex)>".utf8)] ?? (b + 3 < count ? b + 3 : unknown)
        }
        spaceID = ids[[0x20]]
    }

    private static func spaces(_ piece: [UInt8]) -> [UInt8] {
        guard piece.count >= 3 else { return piece }
        var out: [UInt8] = []
        out.reserveCapacity(piece.count)
        var i = 0
        while i < piece.count {
            if i + 2 < piece.count, piece[i] == 0xE2, piece[i + 1] == 0x96, piece[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(piece[i])
                i += 1
            }
        }
        return out
    }

    public func encode(_ text: String, bos: Bool, eos: Bool) -> [Int] {
        var tokens: [Int] = []
        if bos && addsBOS { tokens.append(bosID) }
        let bytes = Array(text.utf8)
        var symbols: [Int] = []
        // The leading-space convention: a non-empty text starts with the " " piece, which may
        // then merge with the first word (" Once").
        if !bytes.isEmpty, let spaceID { symbols.append(spaceID) }
        var start = 0
        while start < bytes.count {
            var end = start + 1
            while end < bytes.count, end - start < 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
            let char = Array(bytes[start..<end])
            if let id = ids[char] {
                symbols.append(id)
            } else {
                for b in char where byteTokens[Int(b)] >= 0 { symbols.append(byteTokens[Int(b)]) }
            }
            start = end
        }
        tokens += merge(symbols)
        if eos { tokens.append(eosID) }
        return tokens
    }

    /// Merges adjacent symbols best score first, leftmost first on ties (run.c's order).
    private func merge(_ symbols: [Int]) -> [Int] {
        PairMerge.merge(symbols) { left, right in
            ids[pieces[left] + pieces[right]].map { (scores[$0], $0) }
        }
    }

    public func decode(previous: Int, token: Int) -> [UInt8] {
        guard token >= 0, token < vocabSize else { return [] }
        var piece = pieces[token]
        if previous == bosID, piece.first == 0x20 { piece.removeFirst() }
        // "<0xNN>" stands for the raw byte NN.
        if piece.count == 6, piece[0] == 0x3C, piece[1] == 0x30, piece[2] == 0x78, piece[5] == 0x3E,
           let b = UInt8(String(decoding: piece[3...4], as: UTF8.self), radix: 16) {
            return [b]
        }
        return piece
    }

    public func piece(_ token: Int) -> [UInt8] { pieces[token] }
}
