import LLMQCore

/// llama2.c's `tokenizer.bin`: int32 max_token_length, then per token: fp32 score, int32 length,
/// that many bytes. The token count is implied by the file length. BOS is 1, EOS is 2, and
/// tokens 3...258 are the byte-fallback pieces `<0x00>`…`<0xFF>`.
public enum Llama2CTokenizerFile {
    public static func read(path: String, expectedCount: Int? = nil) throws -> TokenizerData {
        let file = try MappedFile(path: path)
        do {
            return try read(file.bytes, expectedCount: expectedCount)
        } catch let e as LLMQError {
            throw e.inFile(path)
        }
    }

    public static func read(_ bytes: UnsafeRawBufferPointer, expectedCount: Int? = nil) throws -> TokenizerData {
        guard bytes.count > 0 else { throw LLMQError(.truncated, "tokenizer file is empty") }
        var r = ByteReader(bytes)
        let maxLength = Int(try r.i32("max_token_length"))
        guard maxLength > 0, maxLength <= 1 << 16 else {
            throw LLMQError(.invalid, "max_token_length \(maxLength) is out of range 1...65536", offset: 0)
        }
        var pieces: [[UInt8]] = []
        var scores: [Float] = []
        while r.remaining > 0 {
            let id = pieces.count
            let score = try r.f32("score of token \(id)")
            let at = r.offset
            let length = Int(try r.i32("length of token \(id)"))
            guard length >= 0, length <= maxLength else {
                throw LLMQError(.invalid, "token \(id) has length \(length), outside 0...\(maxLength) (max_token_length)", offset: at)
            }
            guard score.isFinite else { throw LLMQError(.invalid, "token \(id) has a non-finite score", offset: at - 4) }
            pieces.append(Array(try r.bytes(length, "token \(id) (\(length) bytes)")))
            scores.append(score)
        }
        if let expectedCount, pieces.count != expectedCount {
            throw LLMQError(.invalid, "has \(pieces.count) tokens but the model's vocabulary has \(expectedCount)")
        }
        guard pieces.count >= 3 else { throw LLMQError(.invalid, "has \(pieces.count) tokens; BOS (1) and EOS (2) need at least 3") }
        return TokenizerData(kind: .sentencePiece, pieces: pieces, scores: scores, bosID: 1, eosID: 2, unknownID: 0)
    }

    /// Writes the llama2.c tokenizer file for a SentencePiece-style vocabulary.
    public static func write(_ tokenizer: TokenizerData, to path: String) throws {
        guard tokenizer.kind == .sentencePiece else {
            throw LLMQError(.unsupported, "llama2.c tokenizer files hold SentencePiece vocabularies, not \(tokenizer.kind.rawValue)", file: path)
        }
        let out = try AtomicFileWriter(path: path)
        try out.write(Int32(tokenizer.maxPieceLength))
        for (piece, score) in zip(tokenizer.pieces, tokenizer.scores) {
            try out.write(score)
            try out.write(Int32(piece.count))
            try out.write(piece)
        }
        try out.commit()
    }
}
