import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

@Suite("Scale search")
struct ScaleSearchTests {
    static let kinds: [DType] = [.q8_0, .q4_0, .q4_1]

    /// Encodes `values` as `dtype` with the given per-element weights (nil: reference rounding)
    /// and returns the fp32 expansion.
    static func restored(_ values: [Float], as dtype: DType, importance: [Float]?) throws -> [Float] {
        var bytes = [UInt8](repeating: 0, count: values.count / dtype.blockSize * dtype.blockBytes)
        try values.withUnsafeBufferPointer { src in
            try bytes.withUnsafeMutableBytes { dst in
                if let importance {
                    try importance.withUnsafeBufferPointer { try Quantize.elements(src, as: dtype, into: dst, importance: $0) }
                } else {
                    try Quantize.elements(src, as: dtype, into: dst)
                }
            }
        }
        return try bytes.withUnsafeBytes { raw in
            try [Float](unsafeUninitializedCapacity: values.count) { buffer, count in
                try Dequantize.elements(dtype, from: raw, range: 0..<values.count, into: buffer.baseAddress!)
                count = values.count
            }
        }
    }

    static func weightedError(_ x: [Float], _ y: [Float], _ w: [Float]) -> Double {
        zip(zip(x, y), w).reduce(0.0) { $0 + Double($1.1) * Double(($1.0.0 - $1.0.1) * ($1.0.0 - $1.0.1)) }
    }

    @Test("the search lowers the squared error of real weights for every block type and group", arguments: [32, 128])
    func lowersError(group: Int) throws {
        let values = try TestData.stories260KMatrices()
        let ones = [Float](repeating: 1, count: values.count)
        // q4: clearly lower (measured 10–25 % less on stories260K); q8_0: never higher.
        let required: [DType: Double] = [.q8_0: 1.0, .q4_0: 0.93, .q4_1: 0.95]
        for kind in Self.kinds {
            let dtype = kind.grouped(group)
            let plain = Self.weightedError(values, try Self.restored(values, as: dtype, importance: nil), ones)
            let searched = Self.weightedError(values, try Self.restored(values, as: dtype, importance: ones), ones)
            #expect(searched <= plain * required[kind]!, "\(dtype): searched \(searched) vs plain \(plain)")
        }
    }

    @Test("importance weights move the error to the channels that weigh little")
    func followsImportance() throws {
        let values = try TestData.stories260KMatrices()
        var rng = SplitMix64(seed: 7)
        // Per-element weights spanning three orders of magnitude, as activation statistics do.
        let weights = (0..<values.count).map { _ in Float(pow(10, 3 * Double(rng.uniform()))) }
        let ones = [Float](repeating: 1, count: values.count)
        for kind in Self.kinds {
            let dtype = kind.grouped(32)
            let uniform = Self.weightedError(values, try Self.restored(values, as: dtype, importance: ones), weights)
            let weighted = Self.weightedError(values, try Self.restored(values, as: dtype, importance: weights), weights)
            #expect(weighted < uniform * 0.95, "\(dtype): weighted search \(weighted) vs uniform search \(uniform)")
        }
    }

    @Test("hostile blocks (zeros, signed zeros, subnormal scales, fp16 limits, ties, all-zero weights) encode and stay bounded",
          arguments: [32, 256])
    func hostileBlocks(group: Int) throws {
        let values = TestData.hostile(blockSize: group, blocks: 40, seed: 11)
        var rng = SplitMix64(seed: 3)
        // Some blocks weigh nothing at all, some elements nothing.
        let weights = (0..<values.count).map { i in (i / group) % 7 == 3 ? 0 : rng.uniform() < 0.2 ? 0 : Float(rng.uniform()) }
        for kind in Self.kinds {
            let dtype = kind.grouped(group)
            let y = try Self.restored(values, as: dtype, importance: weights)
            for b in 0..<values.count / group {
                let block = values[b * group..<(b + 1) * group]
                let amax = block.map(abs).max()!
                for i in block.indices {
                    #expect(y[i].isFinite, "\(dtype) element \(i)")
                    // Never worse than the whole block range away (the grid covers the block), plus
                    // what fp16's smallest steps (6e-8) cost a block of tiny values.
                    #expect(abs(y[i] - values[i]) <= 2 * amax * 1.001 + 1e-6, "\(dtype) element \(i): \(values[i]) → \(y[i])")
                }
                if amax == 0 { #expect(block.indices.allSatisfy { y[$0] == 0 }, "\(dtype) zero block \(b)") }
            }
        }
    }

    @Test("a recipe with scale search yields a view with lower error, and records the choice")
    func recipeView() throws {
        let source = try Llama2CReader.read(path: Fixtures.stories260K)
        var rmse: [Bool: Double] = [:]
        for search in [false, true] {
            let recipe = try QuantizationRecipe(type: "q4_0", scaleSearch: search)
            let decoded = try JSONDecoder().decode(QuantizationRecipe.self, from: JSONEncoder().encode(recipe))
            #expect(decoded == recipe)
            let stats = QuantizationStats()
            let view = try Quantizer.view(of: source, plan: try recipe.plan(for: source), stats: stats)
            let t = try view.tensor("blk.0.attn_q.weight")
            _ = try view.data(t)
            rmse[search] = try #require(stats[t.name]).rmse
        }
        #expect(rmse[true]! < rmse[false]! * 0.95)
    }
}
