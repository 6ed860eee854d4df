/// ggml's `block_q5_0`, generalised to groups of n = 32, 64, 128 or 256 elements: one fp16 scale,
/// n/8 bytes holding the fifth bit of every element, n/2 bytes of low nibbles; x[i] ≈ d · (q[i] − 16)
/// with q in 0…31 (5.5 bits per weight at n = 32, 5.25 at n = 64).
///
/// Quantization is `gguf.quants.Q5_0` (ggml's `quantize_row_q5_0_ref`): max = the signed value of
/// largest magnitude (the first such element), d = max / −16, q[i] = min(31, trunc(x[i] · (1/d) + 16.5)),
/// in fp32, d stored as fp16. With `importance` the scale is searched (`ScaleSearch.symmetric` over
/// levels −16...15): same layout, different bytes. One more bit than q4_0 quarters the rounding
/// error's power for one more bit per weight, the cheapest step up when q4_0 costs too much.
public enum Q5_0: SymmetricBlockType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | n/8 | qh: bit i (little-endian bit order) = bit 4 of q[i] |
    /// | 2 + n/8 | n/2 | byte j = (q[j] & 15) \| (q[j + n/2] & 15) << 4 |
    ///
    /// The layout's "quants" are qh and the nibbles together (5 bits per element).
    @inlinable public static var layout: BlockLayout { BlockLayout(scaleOffset: 0, minOffset: nil, quantsOffset: 2, bitsPerQuant: 5) }

    /// Where the nibbles start, from the start of the quants.
    @inlinable public static func nibblesOffset(blockSize n: Int) -> Int { n / 8 }

    public static let name = "q5_0"
    public static let blockSize = 32
    public static let ggmlType: UInt32? = 6
    public static let ggufFileType: UInt32? = 8
    public static func blockBytes(groupSize n: Int) -> Int { layout.blockBytes(n) }
    public static func accepts(groupSize n: Int) -> Bool { GroupSizes.flexible.contains(n) }
    public static func halfParameters(groupSize: Int) -> [Int] { [layout.scaleOffset] }
    public static let levels: ClosedRange<Int32> = -16...15

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize n: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        if let importance {
            layout.encodeSearching(x, count: count, blockSize: n, importance: importance, into: out) { x, w, levels, block in
                store(scale: ScaleSearch.symmetric(x, w, n, lowest: -16, highest: 15, levels: levels), levels: levels, groupSize: n, into: block)
            }
            return
        }
        layout.encode(x, count: count, blockSize: n, into: out) { x, block in
            let amax = BlockScan.absMax(x, n)
            var i = 0
            while abs(x[i]) != amax { i += 1 }
            let d = x[i] / -16
            let id = reciprocal(d)
            Half.store(d, block, layout.scaleOffset)
            pack(n, into: block + layout.quantsOffset) { Int32(code5(x[$0] * id + 16.5)) }
        }
    }

    public static func store(scale d: Float, levels: UnsafePointer<Int32>, groupSize n: Int, into block: UnsafeMutableRawPointer) {
        Half.store(d, block, layout.scaleOffset)
        pack(n, into: block + layout.quantsOffset) { levels[$0] + 16 }
    }

    /// Writes the n codes (0…31) that `code` gives for each element as qh bits and nibbles.
    @inline(__always)
    private static func pack(_ n: Int, into quants: UnsafeMutableRawPointer, _ code: (Int) -> Int32) {
        let half = n / 2
        let high = quants.assumingMemoryBound(to: UInt8.self)
        let nibbles = high + nibblesOffset(blockSize: n)
        for byte in 0..<n / 8 {
            var bits: UInt8 = 0
            for bit in 0..<8 { bits |= UInt8(truncatingIfNeeded: code(8 * byte + bit) >> 4) << UInt8(bit) }
            high[byte] = bits
        }
        for j in 0..<half {
            nibbles[j] = UInt8(truncatingIfNeeded: code(j) & 15) | UInt8(truncatingIfNeeded: code(j + half) & 15) << 4
        }
    }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize n: Int, into y: UnsafeMutablePointer<Float>) {
        let half = n / 2
        layout.decode(src, count: count, blockSize: n, into: y) { block, y in
            let d = Half.load(block, layout.scaleOffset)
            let high = (block + layout.quantsOffset).assumingMemoryBound(to: UInt8.self)
            let nibbles = high + nibblesOffset(blockSize: n)
            func fifth(_ i: Int) -> Int32 { Int32((high[i / 8] >> UInt8(i % 8)) & 1) << 4 }
            for j in 0..<half {
                y[j] = d * Float((Int32(nibbles[j] & 0x0F) | fifth(j)) - 16)
                y[j + half] = d * Float((Int32(nibbles[j] >> 4) | fifth(j + half)) - 16)
            }
        }
    }
}

extension DType {
    public static let q5_0 = DType(Q5_0.self)
}

/// `min(31, trunc(v))` for the levels 0...32.5 a block of finite values produces, as ggml's
/// `MIN(31, (int8_t)v)`; NaN gives 0 (see `nibble`).
@inline(__always)
func code5(_ v: Float) -> UInt8 {
    v >= 31 ? 31 : v >= 0 ? UInt8(v) : 0
}
