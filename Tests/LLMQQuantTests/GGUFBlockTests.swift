import Foundation
import LLMQCore
import LLMQQuant
import LLMQTestSupport
import Testing

/// The ggml block layouts llmq only reads (real GGUF files use them), decoded bit for bit as
/// gguf-py's reference dequantizer (`scripts/reference/gguf_blocks.py`) decodes random blocks.
@Suite("GGUF block decoders")
struct GGUFBlockTests {
    /// Every registered block type ggml has, by its ggml name.
    static let ggmlBlockTypes = BlockTypes.all.filter { $0.blockSize > 1 && $0.ggmlType != nil }.map { ($0.name.uppercased(), DType($0)) }

    @Test("random blocks decode exactly as gguf.quants.dequantize", arguments: ggmlBlockTypes)
    func matchesGGUFPy(name: String, kind: DType) throws {
        let dir = try Fixtures.scratch()
        let blocks = 512
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/gguf_blocks.py").path
        let r = try Fixtures.run("/usr/bin/env", ["python3", script, name, "\(blocks)", "7", dir + "/blocks", dir + "/values"])
        try #require(r.status == 0, "\(r.stderr)")
        let raw = try Fixtures.read(dir + "/blocks")
        let expected = try Fixtures.read(dir + "/values").withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
        let dtype = kind
        #expect(raw.count == blocks * dtype.blockBytes)
        let n = blocks * dtype.blockSize
        var values = [Float](repeating: 0, count: n)
        try raw.withUnsafeBytes { bytes in
            try values.withUnsafeMutableBufferPointer { try Dequantize.elements(dtype, from: bytes, range: 0..<n, into: $0.baseAddress!) }
        }
        // Random fp16 scales include NaNs, whose payloads need not agree; every other value must.
        let differing = zip(values, expected).filter { ours, theirs in
            !(ours.isNaN && Float(bitPattern: theirs).isNaN) && ours.bitPattern != theirs
        }.count
        #expect(differing == 0, "\(differing) of \(n) values differ")
    }
}
