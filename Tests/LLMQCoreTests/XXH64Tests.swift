import LLMQCore
import Testing

@Suite("XXH64")
struct XXH64Tests {
    /// Published vectors and values from the reference implementation (python-xxhash 4.1.0); the
    /// lengths cover every tail path (byte, 4-byte and 8-byte steps, with and without stripes).
    static let vectors: [([UInt8], UInt64)] = [
        ([], 0xEF46_DB37_51D8_E999),
        (Array("a".utf8), 0xD24E_C4F1_A98C_6E5B),
        (Array("abc".utf8), 0x44BC_2CF5_AD77_0999),
        (Array("Nobody inspects the spammish repetition".utf8), 0xFBCE_A83C_8A37_8BF1),
        ((0..<256).map { UInt8($0) }, 0x1FAC_BE84_06CD_904B),
        ((0..<45).map { UInt8($0 * 7 % 256) }, 0x9364_E111_A660_2F43),
        ((0..<100).map { UInt8($0 * 7 % 256) }, 0x8E22_72C0_8247_D5DB),
        ((0..<1000).map { UInt8($0 * 7 % 256) }, 0x2527_5608_A9CF_C168),
    ]

    @Test("one-shot digests match the reference values")
    func vectors() {
        for (bytes, expected) in Self.vectors {
            #expect(XXH64.hash(bytes) == expected, "length \(bytes.count)")
        }
    }

    @Test("feeding the bytes in pieces of any size gives the same digest")
    func streaming() {
        for (bytes, expected) in Self.vectors {
            for piece in [1, 3, 7, 31, 32, 33, 64] {
                var h = XXH64()
                var at = 0
                while at < bytes.count {
                    let end = min(bytes.count, at + piece)
                    bytes[at..<end].withUnsafeBytes { h.update($0) }
                    at = end
                }
                #expect(h.digest() == expected, "length \(bytes.count) in pieces of \(piece)")
            }
        }
    }

    @Test("hex renders 16 lowercase digits")
    func hex() {
        #expect(XXH64.hex(0xEF46_DB37_51D8_E999) == "ef46db3751d8e999")
        #expect(XXH64.hex(0xAB) == "00000000000000ab")
    }
}
