import LLMQCore

/// `TokenizerData` ↔ the `tokenizer.ggml.*` keys. Pieces stay as the file spells them
/// (SentencePiece's `▁` for a space); the engine's tokenizers handle both spellings.
enum GGUFTokenizerMetadata {
    /// The vocabulary of a file, or nil when it has none or one of a kind llmq does not run
    /// (`inspect` still shows its keys).
    static func tokenizer(_ file: GGUFFile) throws -> TokenizerData? {
        guard let model = file[GGUFKey.tokenizerModel]?.string, let kind = TokenizerData.Kind(rawValue: model) else { return nil }
        guard let tokens = file[GGUFKey.tokens], case .array(.string, let items) = tokens else {
            throw LLMQError(.invalid, "\(GGUFKey.tokens) must be an array of strings")
        }
        let pieces = items.compactMap(\.bytes)
        let n = pieces.count
        guard n >= 1 else { throw LLMQError(.invalid, "\(GGUFKey.tokens) is empty") }

        func numbers<T>(_ key: String, _ type: GGUFValueType, _ extract: (GGUFValue) -> T?) throws -> [T]? {
            guard let value = file[key] else { return nil }
            guard case .array(type, let items) = value, items.count == n else {
                throw LLMQError(.invalid, "\(key) must be an array of \(n) \(type) values (one per token), found \(value.summary)")
            }
            return items.compactMap(extract)
        }
        let scores = try numbers(GGUFKey.scores, .float32) { if case .float32(let v) = $0 { v } else { nil } }
        let types = try numbers(GGUFKey.tokenType, .int32) { if case .int32(let v) = $0 { v } else { nil } }

        var merges: [String] = []
        if let value = file[GGUFKey.merges] {
            guard case .array(.string, let items) = value else { throw LLMQError(.invalid, "\(GGUFKey.merges) must be an array of strings") }
            for (i, item) in items.enumerated() {
                guard let s = item.string else { throw LLMQError(.invalid, "\(GGUFKey.merges)[\(i)] is not valid UTF-8") }
                merges.append(s)
            }
        }

        func id(_ key: String, default fallback: Int?) throws -> Int? {
            guard let value = file[key] else { return fallback }
            guard let v = value.int, v >= 0, v < n else {
                throw LLMQError(.invalid, "\(key) = \(value.summary) is not a token of the \(n)-token vocabulary")
            }
            return v
        }
        let sentencePiece = kind == .sentencePiece
        guard let bos = try id(GGUFKey.bosID, default: sentencePiece ? 1 : nil),
              let eos = try id(GGUFKey.eosID, default: sentencePiece ? 2 : nil) else {
            throw LLMQError(.invalid, "a \(model) vocabulary needs \(GGUFKey.bosID) and \(GGUFKey.eosID)")
        }
        let preTokenizer = file[GGUFKey.tokenizerPre]?.string
        var addBOS = TokenizerData.defaultAddsBOS(kind, preTokenizer: preTokenizer)
        if let value = file[GGUFKey.addBOS] {
            guard let b = value.bool else { throw LLMQError(.invalid, "\(GGUFKey.addBOS) must be a bool, found \(value.type)") }
            addBOS = b
        }
        return TokenizerData(kind: kind, pieces: pieces, scores: scores ?? [Float](repeating: 0, count: n), tokenTypes: types ?? [],
                             merges: merges, bosID: bos, eosID: eos, unknownID: try id(GGUFKey.unknownID, default: sentencePiece ? 0 : nil),
                             addBOS: addBOS, preTokenizer: preTokenizer)
    }

    /// The `tokenizer.ggml.*` entries llama.cpp needs to run a model without side files.
    static func entries(_ t: TokenizerData) -> [(String, GGUFValue)] {
        let sentencePiece = t.kind == .sentencePiece
        // llama2.c vocabularies spell the SentencePiece space as " "; llama.cpp expects "▁".
        let pieces = sentencePiece ? t.pieces.map(spaceAsMeta) : t.pieces
        var list: [(String, GGUFValue)] = [(GGUFKey.tokenizerModel, .text(t.kind.rawValue))]
        // A vocabulary without a pre-tokenizer name is split as GPT-2 splits (what the engine assumes too).
        if !sentencePiece { list.append((GGUFKey.tokenizerPre, .text(t.preTokenizer ?? "gpt-2"))) }
        list.append((GGUFKey.tokens, .array(.string, GGUFArray(pieces.map { .string($0) }))))
        if sentencePiece || t.scores.contains(where: { $0 != 0 }) {
            list.append((GGUFKey.scores, .array(.float32, GGUFArray(t.scores.map { .float32($0) }))))
        }
        let types = t.tokenTypes.count == t.count ? t.tokenTypes : derivedTypes(t)
        list.append((GGUFKey.tokenType, .array(.int32, GGUFArray(types.map { .int32($0) }))))
        if !t.merges.isEmpty { list.append((GGUFKey.merges, .array(.string, GGUFArray(t.merges.map { .text($0) })))) }
        list.append((GGUFKey.bosID, .uint32(UInt32(t.bosID))))
        list.append((GGUFKey.eosID, .uint32(UInt32(t.eosID))))
        if let unk = t.unknownID { list.append((GGUFKey.unknownID, .uint32(UInt32(unk)))) }
        list.append((GGUFKey.addBOS, .bool(t.addBOS)))
        return list
    }

    /// GGUF token types when the source had none: 2 unknown, 3 control (BOS, EOS), 6 byte
    /// (`<0xNN>`), 1 normal.
    static func derivedTypes(_ t: TokenizerData) -> [Int32] {
        t.pieces.enumerated().map { i, p in
            if i == t.unknownID { return 2 }
            if i == t.bosID || i == t.eosID { return 3 }
            if t.kind == .sentencePiece, p.count == 6, p.starts(with: Array("<0x".utf8)), p.last == UInt8(ascii: ">") { return 6 }
            return 1
        }
    }

    private static func spaceAsMeta(_ piece: [UInt8]) -> [UInt8] {
        piece.flatMap { $0 == 0x20 ? [0xE2, 0x96, 0x81] : [$0] }
    }
}
