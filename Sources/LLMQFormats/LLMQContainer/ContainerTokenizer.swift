import LLMQCore

/// The embedded tokenizer section (`formats/llmq.md`, "Tokenizer"): everything in `TokenizerData`.
enum ContainerTokenizer {
    static let fixedBytes = 32
    static let maxTokens = 1 << 24

    static func kindCode(_ kind: TokenizerData.Kind) -> UInt32 {
        switch kind {
        case .sentencePiece: 1
        case .byteLevelBPE: 2
        }
    }

    static func encode(_ t: TokenizerData) -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        let pre = Array((t.preTokenizer ?? "").utf8)
        let hasTypes = t.tokenTypes.count == t.count && t.count > 0
        put(kindCode(t.kind))
        put(UInt32(t.count))
        put(UInt32(t.merges.count))
        put(Int32(t.bosID))
        put(Int32(t.eosID))
        put(Int32(t.unknownID ?? -1))
        put(UInt8(t.addBOS ? 1 : 0))
        put(UInt8(hasTypes ? 1 : 0))
        put(UInt16(pre.count))
        put(UInt32(0))
        for s in t.scores { put(s.bitPattern) }
        if hasTypes { for v in t.tokenTypes { put(v) } }
        for p in t.pieces { put(UInt32(p.count)); out += p }
        for m in t.merges { put(UInt32(m.utf8.count)); out += Array(m.utf8) }
        out += pre
        return out
    }

    /// Refuses what a writer could not encode (pre-tokenizer names over 65535 bytes, ids out of range).
    static func validateForWriting(_ t: TokenizerData) throws {
        guard t.count > 0, t.count <= maxTokens, t.scores.count == t.count else {
            throw LLMQError(.invalid, "tokenizer has \(t.count) pieces and \(t.scores.count) scores")
        }
        guard t.tokenTypes.isEmpty || t.tokenTypes.count == t.count else {
            throw LLMQError(.invalid, "tokenizer has \(t.count) pieces and \(t.tokenTypes.count) token types")
        }
        guard (t.preTokenizer?.utf8.count ?? 0) <= Int(UInt16.max) else { throw LLMQError(.invalid, "pre-tokenizer name is too long") }
        guard (0..<t.count).contains(t.bosID), (0..<t.count).contains(t.eosID), t.unknownID.map({ (0..<t.count).contains($0) }) ?? true else {
            throw LLMQError(.invalid, "tokenizer special token ids are outside the vocabulary")
        }
    }

    /// Parses a tokenizer section; `base` is its file offset, for error messages.
    static func decode(_ bytes: UnsafeRawBufferPointer, base: Int) throws -> TokenizerData {
        var r = ByteReader(bytes, base: base)
        func fail(_ message: String, at field: Int) -> LLMQError {
            LLMQError(.invalid, "tokenizer: \(message)", offset: base + field)
        }
        let kindCode = try r.u32("tokenizer kind")
        let count = Int(try r.u32("tokenizer token_count"))
        let mergeCount = Int(try r.u32("tokenizer merge_count"))
        let bos = Int(try r.i32("tokenizer bos_id"))
        let eos = Int(try r.i32("tokenizer eos_id"))
        let unknown = Int(try r.i32("tokenizer unknown_id"))
        let addBOS = try r.u8("tokenizer add_bos")
        let hasTypes = try r.u8("tokenizer has_token_types")
        let preLength = Int(try r.read(UInt16.self, "tokenizer pre_tokenizer_length"))
        let reserved = try r.u32("tokenizer reserved field")
        let kind: TokenizerData.Kind
        switch kindCode {
        case 1: kind = .sentencePiece
        case 2: kind = .byteLevelBPE
        default: throw fail("unknown kind \(kindCode)", at: 0)
        }
        guard count >= 1, count <= maxTokens else { throw fail("token_count \(count) is outside 1...\(maxTokens)", at: 4) }
        guard kind == .byteLevelBPE || mergeCount == 0 else { throw fail("a SentencePiece vocabulary has \(mergeCount) merges", at: 8) }
        guard (0..<count).contains(bos) else { throw fail("bos_id \(bos) is outside the vocabulary", at: 12) }
        guard (0..<count).contains(eos) else { throw fail("eos_id \(eos) is outside the vocabulary", at: 16) }
        guard unknown == -1 || (0..<count).contains(unknown) else { throw fail("unknown_id \(unknown) is outside the vocabulary", at: 20) }
        guard addBOS <= 1 else { throw fail("add_bos is \(addBOS), not 0 or 1", at: 24) }
        guard hasTypes <= 1 else { throw fail("has_token_types is \(hasTypes), not 0 or 1", at: 25) }
        guard reserved == 0 else { throw fail("reserved field is not zero", at: 28) }
        // Every token needs at least 8 bytes (score and length) and every merge 4, so the counts
        // are bounded by the section before anything is allocated.
        let perToken = 8 + (hasTypes == 1 ? 4 : 0)
        guard count <= r.remaining / perToken, mergeCount <= (r.remaining - count * perToken) / 4 else {
            throw LLMQError(.truncated, "tokenizer: \(count) tokens and \(mergeCount) merges cannot fit in \(bytes.count) bytes", offset: base + 4)
        }
        var scores = [Float](repeating: 0, count: count)
        for i in 0..<count {
            scores[i] = try r.f32("score of token \(i)")
            guard scores[i].isFinite else { throw fail("score of token \(i) is not finite", at: r.offset - 4) }
        }
        var types: [Int32] = []
        if hasTypes == 1 {
            types.reserveCapacity(count)
            for i in 0..<count { types.append(try r.i32("type of token \(i)")) }
        }
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(count)
        for i in 0..<count {
            let length = Int(try r.u32("length of token \(i)"))
            pieces.append(Array(try r.bytes(length, "token \(i) (\(length) bytes)")))
        }
        var merges: [String] = []
        merges.reserveCapacity(mergeCount)
        for i in 0..<mergeCount {
            let length = Int(try r.u32("length of merge \(i)"))
            let at = r.offset
            guard let merge = String(validating: try r.bytes(length, "merge \(i) (\(length) bytes)"), as: UTF8.self) else {
                throw fail("merge \(i) is not UTF-8", at: at)
            }
            merges.append(merge)
        }
        let preAt = r.offset
        let pre = try r.bytes(preLength, "pre-tokenizer name")
        guard let preTokenizer = String(validating: pre, as: UTF8.self) else { throw fail("pre-tokenizer name is not UTF-8", at: preAt) }
        guard r.remaining == 0 else { throw fail("\(r.remaining) bytes follow the last field", at: r.offset) }
        return TokenizerData(kind: kind, pieces: pieces, scores: scores, tokenTypes: types, merges: merges, bosID: bos, eosID: eos,
                             unknownID: unknown == -1 ? nil : unknown, addBOS: addBOS == 1,
                             preTokenizer: preLength == 0 ? nil : preTokenizer)
    }
}
