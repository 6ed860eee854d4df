import LLMQCore

/// GPT-2's byte-level BPE (GGUF `tokenizer.ggml.model = gpt2`, as SmolLM2 uses), encoding as
/// llama.cpp does: special tokens (control and user-defined) are cut out of the text first; the
/// rest is split into words by the pre-tokenizer; each word's UTF-8 bytes are spelled with GPT-2's
/// byte-to-character table and merged pair by pair, lowest merge rank first.
public struct ByteLevelBPETokenizer: Tokenizer {
    public let vocabSize: Int
    public let bosID: Int
    public let eosID: Int
    public let addsBOS: Bool
    private let pieces: [[UInt8]]
    private let ids: [[UInt8]: Int]
    /// (left token << 32 | right token) → (rank, merged token).
    private let merges: [UInt64: (rank: Int, merged: Int)]
    /// byte → the token spelling that byte alone, or `vocabSize + byte` when the vocabulary lacks it:
    /// such a symbol merges with nothing and is dropped from the output, as llama.cpp drops it.
    private let byteTokens: [Int]
    /// Control and user-defined tokens, matched in the text before BPE; longest first per first byte.
    private let specials: [UInt8: [(bytes: [UInt8], id: Int)]]
    /// Control tokens print nothing.
    private let control: Set<Int>
    private let preTokenizer: PreTokenizer

    public init(_ data: TokenizerData) throws {
        guard let pre = PreTokenizer(name: data.preTokenizer) else {
            throw LLMQError(.unsupported, "pre-tokenizer '\(data.preTokenizer ?? "")' is not supported (llmq knows \(PreTokenizer.knownNames.joined(separator: ", ")))")
        }
        guard data.tokenTypes.isEmpty || data.tokenTypes.count == data.count else {
            throw LLMQError(.invalid, "tokenizer has \(data.count) pieces but \(data.tokenTypes.count) token types")
        }
        try data.checkSpecialTokens()
        preTokenizer = pre
        vocabSize = data.count
        bosID = data.bosID
        eosID = data.eosID
        addsBOS = data.addBOS
        pieces = data.pieces
        var ids: [[UInt8]: Int] = [:]
        for (i, p) in pieces.enumerated() where ids[p] == nil { ids[p] = i }
        self.ids = ids
        byteTokens = (0..<256).map { ids[ByteLevelBPETokenizer.byteSpelling[$0]] ?? data.count + $0 }
        var merges: [UInt64: (rank: Int, merged: Int)] = [:]
        merges.reserveCapacity(data.merges.count)
        for (rank, merge) in data.merges.enumerated() {
            let parts = merge.split(separator: " ", omittingEmptySubsequences: false)
            // A merge whose halves or result are not tokens can never apply; ignore it as llama.cpp's lookups would.
            guard parts.count == 2, let l = ids[Array(parts[0].utf8)], let r = ids[Array(parts[1].utf8)],
                  let m = ids[Array(parts[0].utf8) + Array(parts[1].utf8)] else { continue }
            let key = UInt64(l) << 32 | UInt64(r)
            if merges[key] == nil { merges[key] = (rank, m) }
        }
        self.merges = merges
        var specials: [UInt8: [(bytes: [UInt8], id: Int)]] = [:]
        var control = Set<Int>()
        for (i, type) in data.tokenTypes.enumerated() where type == 3 || type == 4 {
            if type == 3 { control.insert(i) }
            guard let first = pieces[i].first else { continue }
            specials[first, default: []].append((pieces[i], i))
        }
        self.specials = specials.mapValues { $0.sorted { $0.bytes.count > $1.bytes.count } }
        self.control = control
    }

    public func encode(_ text: String, bos: Bool, eos: Bool) -> [Int] {
        var tokens: [Int] = []
        if bos && addsBOS { tokens.append(bosID) }
        let bytes = Array(text.utf8)
        var start = 0, i = 0
        while i < bytes.count {
            if let special = specials[bytes[i]]?.first(where: { bytes[i...].starts(with: $0.bytes) }) {
                encodeText(bytes[start..<i], into: &tokens)
                tokens.append(special.id)
                i += special.bytes.count
                start = i
            } else {
                i += 1
            }
        }
        encodeText(bytes[start...], into: &tokens)
        if eos { tokens.append(eosID) }
        return tokens
    }

    /// Text without special tokens: pre-tokenize, then BPE within each word.
    private func encodeText(_ bytes: ArraySlice<UInt8>, into tokens: inout [Int]) {
        guard !bytes.isEmpty else { return }
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        for word in preTokenizer.split(scalars) {
            var symbols: [Int] = []
            for scalar in scalars[word] {
                for b in String(scalar).utf8 { symbols.append(byteTokens[Int(b)]) }
            }
            let merged = PairMerge.merge(symbols) { left, right in
                merges[UInt64(left) << 32 | UInt64(right)].map { (-Float($0.rank), $0.merged) }
            }
            tokens += merged.filter { $0 < vocabSize }
        }
    }

    /// The bytes a token stands for: its characters mapped back through GPT-2's table. Control
    /// tokens (`<|im_end|>`) print nothing.
    public func decode(previous: Int, token: Int) -> [UInt8] {
        guard token >= 0, token < vocabSize, !control.contains(token) else { return [] }
        var out: [UInt8] = []
        for scalar in String(decoding: pieces[token], as: UTF8.self).unicodeScalars {
            if let b = Self.byteOfCharacter[scalar.value] { out.append(b) } else { out += Array(String(scalar).utf8) }
        }
        return out
    }

    /// GPT-2's table: printable Latin-1 bytes stand for themselves; the other 68 bytes (controls,
    /// space, DEL, NBSP, soft hyphen…) are moved to U+0100 onwards so that every byte is a
    /// visible character (the space becomes "Ġ").
    static let byteCharacters: [UInt32] = {
        let printable = Set(Array(33...126) + Array(161...172) + Array(174...255))
        var next: UInt32 = 256
        return (0..<256).map { b in
            if printable.contains(b) { return UInt32(b) }
            defer { next += 1 }
            return next
        }
    }()

    static let byteSpelling: [[UInt8]] = byteCharacters.map { Array(String(Unicode.Scalar($0)!).utf8) }

    static let byteOfCharacter: [UInt32: UInt8] = Dictionary(uniqueKeysWithValues: byteCharacters.enumerated().map { ($1, UInt8($0)) })
}
