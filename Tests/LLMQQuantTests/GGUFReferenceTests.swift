import LLMQCore
import LLMQQuant
import LLMQTestSupport
import Testing

/// llmq's codecs against the `gguf` Python package's reference quantizers (what llama.cpp's converter
/// writes): the same bytes for the same fp32 input, and the same fp32 values back.
@Suite("Block codecs match gguf.quants byte for byte")
struct GGUFReferenceTests {
    static let allTypes = ["q8_0", "q5_0", "q4_0", "q4_1", "q5_1", "f16", "bf16"]

    static func compare(_ values: [Float], group: Int = 32, types: [String], label: String) throws {
        let reference = try TestData.gguf(values, group: group, types: types)
        for name in types {
            let dtype = try #require(DType(name: name).map { $0.isBlockQuantized ? $0.grouped(group) : $0 })
            let ours = try TestData.llmq(values, as: dtype)
            let theirs = try #require(reference.bytes[name])
            if let at = TestData.firstDifference(ours.bytes, theirs) {
                Issue.record("\(label) \(dtype): first differing byte \(at) of \(theirs.count) (block \(at / dtype.blockBytes))")
            }
            if let at = TestData.firstBitDifference(ours.restored, try #require(reference.restored[name])) {
                Issue.record("\(label) \(dtype): dequantized element \(at) is \(ours.restored[at]), gguf gives \(reference.restored[name]![at])")
            }
        }
    }

    @Test("every stories260K matrix with 32-aligned rows encodes to gguf's bytes")
    func stories260K() throws {
        let values = try TestData.stories260KMatrices()
        #expect(values.count > 200_000)
        try Self.compare(values, types: Self.allTypes, label: "stories260K")
    }

    @Test("outliers, zeros of both signs, tiny, huge and tied values encode to gguf's bytes")
    func hostileData() throws {
        try Self.compare(TestData.hostile(blockSize: 32, blocks: 4000, seed: 7), types: Self.allTypes, label: "hostile")
    }

    @Test("blocks of +0 and −0 only encode to gguf's q8_0, q5_0 and q4_0 bytes")
    func signedZeros() throws {
        try Self.compare(TestData.signedZeroBlocks(blockSize: 32, blocks: 512, seed: 3), types: ["q8_0", "q5_0", "q4_0"], label: "±0")
    }

    @Test("groups of 64, 128 and 256 follow gguf's arithmetic at that width", arguments: [64, 128, 256])
    func wideGroups(group: Int) throws {
        let values = TestData.hostile(blockSize: group, blocks: 1000, seed: UInt64(group))
        try Self.compare(values, group: group, types: ["q8_0", "q5_0", "q4_0", "q4_1"], label: "g\(group)")
    }
}
