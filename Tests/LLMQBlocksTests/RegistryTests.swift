import Foundation
import LLMQBlocks
import LLMQCore
import LLMQTestSupport
import Testing

/// The registry is the one list of block types; everything else derives from it, so its entries
/// must be consistent with each other and with ggml's own table.
@Suite("Block type registry")
struct RegistryTests {
    @Test("names, ggml ids and container codes are unique")
    func unique() {
        let names = BlockTypes.all.map { $0.name.lowercased() }
        #expect(Set(names).count == names.count)
        let ids = BlockTypes.all.compactMap { $0.ggmlType }
        #expect(Set(ids).count == ids.count)
        let codes = BlockTypes.all.map { $0.containerCode }
        #expect(Set(codes).count == codes.count)
    }

    @Test("every dtype's name parses back to it, with and without a group suffix")
    func names() {
        for type in BlockTypes.all {
            let dtype = DType(type)
            #expect(DType(name: dtype.description) == dtype)
            #expect(DType(name: dtype.description.uppercased()) == dtype)
            for n in GroupSizes.flexible where n != type.blockSize {
                let grouped = dtype.grouped(n)
                #expect(DType(name: grouped.description) == (grouped.isValidBlockSize ? grouped : nil), "\(grouped)")
            }
        }
        #expect(DType(name: "q4_0_g64") == DType.q4_0.grouped(64))
        #expect(DType(name: "q4_K_g64") == nil && DType(name: "q4_0_g48") == nil && DType(name: "nope") == nil)
    }

    @Test("block sizes and bytes equal ggml's (gguf-py's GGML_QUANT_SIZES)")
    func ggmlSizes() throws {
        let r = try Fixtures.run("/usr/bin/env", ["python3", "-c", """
            import json; from gguf import GGML_QUANT_SIZES
            print(json.dumps({t.value: list(s) for t, s in GGML_QUANT_SIZES.items()}))
            """])
        try #require(r.status == 0, "\(r.stderr)")
        let sizes = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: [Int]])
        for type in BlockTypes.all {
            guard let id = type.ggmlType else { continue }
            let ggml = try #require(sizes[String(id)], "ggml type \(id) (\(type.name)) is unknown to gguf-py")
            #expect(ggml == [type.blockSize, type.blockBytes(groupSize: type.blockSize)], "\(type.name)")
        }
    }

    @Test("every encodable type decodes what it encodes to within its precision")
    func roundTrips() {
        var rng = SplitMix64(seed: 3)
        for type in BlockTypes.encodable {
            let dtype = DType(type), n = 4 * max(dtype.blockSize, 32)
            let x = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
            var bytes = [UInt8](repeating: 0, count: n / dtype.blockSize * dtype.blockBytes)
            var y = [Float](repeating: .nan, count: n)
            x.withUnsafeBufferPointer { src in
                bytes.withUnsafeMutableBytes {
                    type.encodeBlocks(src.baseAddress!, count: n / dtype.blockSize, groupSize: dtype.blockSize, importance: nil, into: $0.baseAddress!)
                }
            }
            bytes.withUnsafeBytes { raw in y.withUnsafeMutableBufferPointer { type.decode(raw, elements: 0..<n, groupSize: dtype.blockSize, into: $0.baseAddress!) } }
            // Block types: one step of a grid of about 2^bits levels over [−1, 1] (the bits a weight
            // has besides its share of the block's parameters), with room for fp16 scales. Plain
            // floats: bf16's relative precision, 2⁻⁸.
            let levels = Float(1 << Int((dtype.bitsPerWeight - 0.5).rounded(.down))) - 1
            let bound = dtype.isBlockQuantized ? 1.05 * 2 / levels : 1 / 256
            let worst = zip(x, y).map { abs($0 - $1) }.max()!
            #expect(worst <= bound, "\(dtype): worst error \(worst) > \(bound)")
        }
    }
}
