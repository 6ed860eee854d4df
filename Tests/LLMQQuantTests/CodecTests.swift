import Foundation
import LLMQCore
import LLMQQuant
import LLMQTestSupport
import Testing

@Suite("Block codecs")
struct CodecTests {
    static let groups = [32, 64, 128, 256]
    static let kinds: [DType] = [.q8_0, .q4_0, .q4_1]

    @Test("the one-scale types take every group size, and only those")
    func groupSizes() throws {
        for kind in Self.kinds {
            for n in Self.groups { #expect(Quantize.canEncode(kind.grouped(n))) }
            #expect(!Quantize.canEncode(kind.grouped(48)))
        }
        #expect(Quantize.canEncode(.f16) && Quantize.canEncode(.bf16) && Quantize.canEncode(.f32))
        #expect(!Quantize.canEncode(DType.q8_K))
    }

    /// The worst error a block may have: half a step (a full step where q4_0 clamps the top level of
    /// the opposite sign), plus what storing d and m in fp16 (relative error ≤ 2⁻¹¹) costs.
    static func bound(_ kind: DType, block x: ArraySlice<Float>) -> Float {
        let lo = x.min()!, hi = x.max()!, amax = max(abs(lo), abs(hi))
        let fp16 = Float(1) / 2048
        switch kind {
        case .q8_0: return amax / 127 * (0.5 + 127 * fp16) * 1.0001
        case .q4_0: return amax / 8 * (1 + 8 * fp16) * 1.0001
        default:
            let d = (hi - lo) / 15
            return (d * (0.5 + 15 * fp16) + abs(lo) * fp16) * 1.0001
        }
    }

    /// On Gaussian weights with outliers, 32-groups give about 41 (q8_0), 17 (q4_0) and 20 dB (q4_1);
    /// each doubling of the group costs about 2.5 dB, so these floors hold down to 256-groups.
    static let minimumSNR: [DType: Double] = [.q8_0: 32, .q4_0: 9, .q4_1: 11]

    @Test("round trips stay within half a quantization step for every group size", arguments: [32, 64, 128, 256])
    func roundTripBounds(group: Int) throws {
        var rng = SplitMix64(seed: UInt64(group))
        // Gaussian weights with outliers, the kind of data the codecs exist for.
        var values = (0..<group * 512).map { _ in 0.02 * rng.normal() }
        for _ in 0..<values.count / 256 { values[rng.index(values.count)] = 0.02 * (rng.uniform() * 40 - 20) }
        for kind in Self.kinds {
            let dtype = kind.grouped(group)
            let restored = try TestData.llmq(values, as: dtype).restored
            var sumSquares: Double = 0, energy: Double = 0
            for b in 0..<values.count / group {
                let block = values[b * group..<(b + 1) * group]
                let limit = Self.bound(kind, block: block)
                for i in block.indices {
                    let e = abs(values[i] - restored[i])
                    if e > limit { Issue.record("\(dtype) element \(i): error \(e) exceeds \(limit)") }
                    sumSquares += Double(e * e)
                    energy += Double(values[i] * values[i])
                }
            }
            let snr = 10 * log10(energy / sumSquares)
            #expect(snr > Self.minimumSNR[kind]!, "\(dtype) SNR \(snr) dB")
        }
    }

    @Test("f16 and bf16 round to nearest even; bf16 keeps NaN quiet")
    func plainFloats() throws {
        // 1 + 2⁻⁸ is halfway between two bf16 values; even rounding goes down, 1 + 3·2⁻⁸ goes up.
        #expect(BF16.bits(1 + 1 / 256) == 0x3F80)
        #expect(BF16.bits(1 + 3 / 256) == 0x3F82)
        #expect(BF16.bits(-2) == 0xC000)
        #expect(BF16.bits(.infinity) == 0x7F80)
        #expect(BF16.bits(Float(bitPattern: 0x7F80_0001)) == 0x7FC0)
        let bytes = try Quantize.tensor([1, 65520, -1e-8], shape: [3], as: .f16)
        #expect(bytes == [0x00, 0x3C, 0x00, 0x7C, 0x00, 0x80])
    }

    @Test("values a block cannot hold are refused with the element range, not written as garbage")
    func refusals() throws {
        var values = [Float](repeating: 0.5, count: 64)
        values[40] = .nan
        #expect(throws: LLMQError.self) { try Quantize.tensor(values, shape: [2, 32], as: .q8_0) }
        values[40] = 1e7   // q8_0 scale 78740 > 65504
        let error = #expect(throws: LLMQError.self) { try Quantize.tensor(values, shape: [2, 32], as: .q8_0) }
        #expect(error?.message.contains("32..<64") == true)
        values[40] = -1e5   // q4_1 minimum beyond fp16
        #expect(throws: LLMQError.self) { try Quantize.tensor(values, shape: [2, 32], as: .q4_1) }
        values[40] = 3e38   // q4_1 range overflows fp32 itself
        values[41] = -3e38
        #expect(throws: LLMQError.self) { try Quantize.tensor(values, shape: [2, 32], as: .q4_1) }
        #expect(throws: LLMQError.self) { try Quantize.tensor([Float](repeating: 0, count: 48), shape: [1, 48], as: .q4_0) }
        #expect(throws: LLMQError.self) { try Quantize.tensor([1, 2], shape: [3], as: .f32) }
        #expect(throws: LLMQError.self) { try Quantize.tensor([Float](repeating: 0, count: 32), shape: [1, 32], as: DType.q4_K) }
    }

    /// Activations of a model whose weights overflow fp32 reach the q8_0 codec (the integer
    /// kernels quantize them); a fuzzed GGUF made `Int8(NaN)` trap there.
    @Test("q8_0 gives defined quants for non-finite input: NaN 0, the rest of a block holding inf 0")
    func nonFiniteActivations() {
        var values = [Float](repeating: 1, count: 64)
        values[3] = .infinity
        values[40] = .nan
        var block = [UInt8](repeating: 0xAA, count: 2 * DType.q8_0.blockBytes)
        values.withUnsafeBufferPointer { x in
            block.withUnsafeMutableBytes { Q8_0.encodeBlocks(x.baseAddress!, count: 2, groupSize: 32, importance: nil, into: $0.baseAddress!) }
        }
        let quants = { (b: Int) in block[(b * 34 + 2)..<(b * 34 + 34)].map { Int8(bitPattern: $0) } }
        #expect(quants(0).allSatisfy { $0 == 0 }, "d = inf, 1/d = 0: every product is 0 or NaN")
        #expect(quants(1).enumerated().allSatisfy { $0.element == ($0.offset == 8 ? 0 : 127) }, "\(quants(1))")
    }
}
