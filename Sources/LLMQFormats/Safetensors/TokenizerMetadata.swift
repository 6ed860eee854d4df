import LLMQCore

/// llmq's tokenizer carried in a safetensors `__metadata__` value (key `llmq.tokenizer`), so that a
/// converted model keeps its vocabulary exactly (`formats/safetensors.md`). The value is compact
/// JSON: pieces as strings (bytes that are not UTF-8 as `{"hex": "…"}`), scores as numbers (as
/// strings when a number would not read back bit-identically), GGUF token types, BPE merges.
enum TokenizerMetadata {
    static let key = "llmq.tokenizer"

    static func encode(_ t: TokenizerData) -> String {
        let pieces: [JSONValue] = t.pieces.map { bytes in
            if let s = String(validating: bytes, as: UTF8.self) { return .string(s) }
            return .object([JSONMember("hex", .string(bytes.map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined()))])
        }
        let scores: [JSONValue] = t.scores.map { f in
            if f.isFinite, let d = Double("\(f)"), Float(d).bitPattern == f.bitPattern { return .number(d) }
            return .string("\(f)")
        }
        var members = [
            JSONMember("kind", .string(t.kind.rawValue)),
            JSONMember("bos", .integer(t.bosID)),
            JSONMember("eos", .integer(t.eosID)),
            JSONMember("unk", t.unknownID.map { .integer($0) } ?? .null),
            JSONMember("add_bos", .bool(t.addBOS)),
        ]
        if let pre = t.preTokenizer { members.append(JSONMember("pre", .string(pre))) }
        members += [
            JSONMember("pieces", .array(pieces)),
            JSONMember("scores", .array(scores)),
            JSONMember("token_types", .array(t.tokenTypes.map { .integer(Int($0)) })),
            JSONMember("merges", .array(t.merges.map { .string($0) })),
        ]
        return JSONValue.object(members).serialized
    }

    static func decode(_ text: String, vocabSize: Int) throws -> TokenizerData {
        func bad(_ message: String) -> LLMQError { LLMQError(.invalid, "\(key): \(message)") }
        let json: JSONValue
        do { json = try JSONParser.parse(text) } catch let e as LLMQError { throw bad(e.message) }
        guard let kindName = json["kind"]?.string, let kind = TokenizerData.Kind(rawValue: kindName) else {
            throw bad("kind is missing or unknown")
        }
        guard let pieceValues = json["pieces"]?.array, pieceValues.count == vocabSize else {
            throw bad("needs \(vocabSize) pieces (the model's vocabulary), has \(json["pieces"]?.array?.count ?? 0)")
        }
        let pieces = try pieceValues.enumerated().map { id, v -> [UInt8] in
            if let s = v.string { return Array(s.utf8) }
            guard let hex = v["hex"]?.string, let bytes = parseHex(hex) else { throw bad("piece \(id) is neither a string nor {\"hex\": …}") }
            return bytes
        }
        guard let scoreValues = json["scores"]?.array, scoreValues.count == vocabSize else { throw bad("needs \(vocabSize) scores") }
        let scores = try scoreValues.enumerated().map { id, v -> Float in
            if let d = v.double { return Float(d) }
            guard let s = v.string, let f = Float(s) else { throw bad("score \(id) is not a number") }
            return f
        }
        let types = try (json["token_types"]?.array ?? []).enumerated().map { id, v -> Int32 in
            guard let i = v.integer, let t = Int32(exactly: i) else { throw bad("token type \(id) is not an integer") }
            return t
        }
        guard types.isEmpty || types.count == vocabSize else { throw bad("has \(types.count) token types for \(vocabSize) pieces") }
        let merges = try (json["merges"]?.array ?? []).map { v -> String in
            guard let s = v.string else { throw bad("a merge is not a string") }
            return s
        }
        func id(_ key: String) throws -> Int? {
            guard let v = json[key], v != .null else { return nil }
            guard let i = v.integer, (0..<vocabSize).contains(i) else { throw bad("\(key) is not a token id below \(vocabSize)") }
            return i
        }
        guard let bos = try id("bos"), let eos = try id("eos") else { throw bad("bos and eos token ids are required") }
        let preTokenizer = json["pre"]?.string
        return TokenizerData(kind: kind, pieces: pieces, scores: scores, tokenTypes: types, merges: merges, bosID: bos, eosID: eos,
                             unknownID: try id("unk"),
                             addBOS: json["add_bos"]?.bool ?? TokenizerData.defaultAddsBOS(kind, preTokenizer: preTokenizer),
                             preTokenizer: preTokenizer)
    }

    private static let hexDigits = "0123456789abcdef".map(String.init)

    private static func parseHex(_ s: String) -> [UInt8]? {
        let digits = Array(s.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let hi = hexValue(digits[i]), let lo = hexValue(digits[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
        }
        return out
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
