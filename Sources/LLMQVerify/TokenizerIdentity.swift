import LLMQEngine

/// Whether two models read token ids the same way. Files spell vocabularies differently (GGUF's
/// `▁` against llama2.c's space, `<s>` against llama2.c's `\n<s>\n` for BOS, scores that only
/// steer encoding), so the identity is what each id decodes to: a 64-bit FNV-1a digest of every
/// token's bytes, with the BOS and EOS ids standing for themselves.
public enum TokenizerIdentity {
    public static func fingerprint(_ tokenizer: any Tokenizer) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        func mix(_ value: Int) {
            withUnsafeBytes(of: UInt64(truncatingIfNeeded: value).littleEndian) { for b in $0 { mix(b) } }
        }
        mix(tokenizer.vocabSize)
        mix(tokenizer.bosID)
        mix(tokenizer.eosID)
        for id in 0..<tokenizer.vocabSize {
            if id == tokenizer.bosID || id == tokenizer.eosID {
                mix(-1)
                continue
            }
            // A previous token that is not BOS, so no leading space is dropped.
            let bytes = tokenizer.decode(previous: -1, token: id)
            mix(bytes.count)
            for b in bytes { mix(b) }
        }
        return hash
    }

    public static func hex(_ fingerprint: UInt64) -> String {
        let digits = String(fingerprint, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
