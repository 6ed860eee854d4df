/// ggml's `block_q5_1`: 32 elements in 24 bytes (6 bits per weight) — fp16 scale d and minimum m,
/// 5-bit levels; x = d·q + m with q in 0…31. llama.cpp's fallback for Q5_K tensors whose rows are
/// not whole super-blocks.
///
/// Encoding without importance is `quantize_row_q5_1_ref` (and `gguf.quants.Q5_1`): m = min x,
/// d = (max − min)/31, q = trunc((x − m)·(1/d) + 0.5), in fp32. With importance, the best per
/// block of that, `quantize_row_q5_1_impl`'s search (`GGMLSearch.qkx`, 37 inverse scales weighted
/// by importance·√(σ² + x²), σ² the block's mean x² where llama.cpp takes the row's) and the same
/// search weighted by the importance alone, its levels then re-rounded to the stored d and m.
public enum Q5_1: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | 2 | m, fp16 |
    /// | 4 | 4 | qh, uint32: bit i = bit 4 of q[i] |
    /// | 8 | 16 | byte j = (q[j] & 15) \| (q[j + 16] & 15) << 4 |
    public static let name = "q5_1"
    public static let blockSize = 32
    public static let ggmlType: UInt32? = 7
    public static let ggufFileType: UInt32? = 9
    public static func blockBytes(groupSize: Int) -> Int { 24 }
    public static func halfParameters(groupSize: Int) -> [Int] { [0, 2] }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        guard let importance else {
            for b in 0..<count { reference(x + 32 * b, into: out + 24 * b) }
            return
        }
        BestOf.encode(Self.self, x, count: count, groupSize: 32, importance: importance, into: out,
                      [{ x, _, block in reference(x, into: block) },
                       { x, w, block in searched(x, w, scaledBySpread: true, into: block) },
                       { x, w, block in searched(x, w, scaledBySpread: false, into: block) }])
    }

    static func reference(_ x: UnsafePointer<Float>, into block: UnsafeMutableRawPointer) {
        var min = Float.greatestFiniteMagnitude, max = -Float.greatestFiniteMagnitude
        for j in 0..<32 {
            if x[j] < min { min = x[j] }
            if x[j] > max { max = x[j] }
        }
        let d = (max - min) / 31
        let id = d != 0 ? 1 / d : 0
        Half.store(d, block, 0)
        Half.store(min, block, 2)
        pack(block) { code5((x[$0] - min) * id + 0.5) }
    }

    static func searched(_ x: UnsafePointer<Float>, _ qw: UnsafePointer<Float>, scaledBySpread: Bool, into block: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { weights in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { levels in
                let weight = weights.baseAddress!, L = levels.baseAddress!
                var sigma2: Float = 0
                for j in 0..<32 { sigma2 += x[j] * x[j] }
                sigma2 /= 32
                for j in 0..<32 { weight[j] = scaledBySpread ? qw[j] * (sigma2 + x[j] * x[j]).squareRoot() : qw[j] }
                let (d, min) = GGMLSearch.qkx(32, 31, x, weight, L, L + 32, rmin: -0.9, rdelta: 0.05, steps: 36, absolute: false)
                Half.store(d, block, 0)
                Half.store(-min, block, 2)
                pack(block) { L[$0] }
            }
        }
    }

    /// Writes the 32 codes (0…31) `code` gives as fifth bits and nibbles.
    @inline(__always)
    private static func pack(_ block: UnsafeMutableRawPointer, _ code: (Int) -> UInt8) {
        var qh: UInt32 = 0
        for j in 0..<16 {
            let low = code(j), high = code(j + 16)
            block.storeBytes(of: (low & 0x0F) | (high & 0x0F) << 4, toByteOffset: 8 + j, as: UInt8.self)
            qh |= UInt32(low >> 4 & 1) << UInt32(j) | UInt32(high >> 4 & 1) << UInt32(j + 16)
        }
        block.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
    }

    public static func decodeBlocks(_ base: UnsafeRawPointer, count: Int, groupSize: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<count {
            let block = base + b * 24
            let d = Half.load(block, 0)
            let m = Half.load(block, 2)
            let qh = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            let y = out + b * 32
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 8 + j, as: UInt8.self)
                let lo = UInt32(byte & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let hi = UInt32(byte >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float(lo) + m
                y[j + 16] = d * Float(hi) + m
            }
        }
    }

    // Error feedback sees one sub-block whose scale and minimum are the block's: dmin = −m.
    public static func subBlockSize(groupSize: Int) -> Int { 32 }
    public static let levels: ClosedRange<Int32> = 0...31
    public static let scaleRange: ClosedRange<Int32> = 1...1
    public static let minRange: ClosedRange<Int32> = 1...1

    public static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters) {
        p.d = Half.load(block, 0)
        p.dmin = -Half.load(block, 2)
        (p.scales[0], p.mins[0]) = (1, 1)
    }

    public static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer) {
        Half.store(p.d, block, 0)
        Half.store(-p.dmin, block, 2)
        pack(block) { UInt8(levels[$0]) }
    }
}

extension DType {
    public static let q5_1 = DType(Q5_1.self)
}
