/// ggml's `block_q4_0`, generalised to groups of n = 32, 64, 128 or 256 elements: one fp16 scale and
/// n/2 bytes of 4-bit quants, x[i] ≈ d · (q[i] − 8) (4.5 bits per weight at n = 32). Byte j holds
/// element j in its low nibble and element j + n/2 in its high nibble.
///
/// Quantization is `gguf.quants.Q4_0` (ggml's `quantize_row_q4_0_ref`): max = the signed value of
/// largest magnitude (the first such element), d = max / −8, q[i] = min(15, trunc(x[i] · (1/d) + 8.5)),
/// all in fp32, d stored as fp16. The extreme element maps to q = 0 exactly, so the grid spends its
/// 16th level on the other sign. With `importance` the block's scale is searched instead
/// (`ScaleSearch.symmetric` over levels −8...7): same layout, different bytes.
/// (ggml's C loop starts from max = +0, so a block of zeros whose first element is −0 gets d = −0
/// there and +0 here and in gguf; both decode to zeros.)
public enum Q4_0: SymmetricBlockType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | n/2 | byte j = q[j] \| q[j + n/2] << 4 |
    @inlinable public static var layout: BlockLayout { BlockLayout(scaleOffset: 0, minOffset: nil, quantsOffset: 2, bitsPerQuant: 4) }

    public static let name = "q4_0"
    public static let blockSize = 32
    public static let ggmlType: UInt32? = 2
    public static let ggufFileType: UInt32? = 2
    public static func blockBytes(groupSize n: Int) -> Int { layout.blockBytes(n) }
    public static func accepts(groupSize n: Int) -> Bool { GroupSizes.flexible.contains(n) }
    public static func halfParameters(groupSize: Int) -> [Int] { [layout.scaleOffset] }
    public static let levels: ClosedRange<Int32> = -8...7

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize n: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        let half = n / 2
        if let importance {
            layout.encodeSearching(x, count: count, blockSize: n, importance: importance, into: out) { x, w, levels, block in
                store(scale: ScaleSearch.symmetric(x, w, n, lowest: -8, highest: 7, levels: levels), levels: levels, groupSize: n, into: block)
            }
            return
        }
        layout.encode(x, count: count, blockSize: n, into: out) { x, block in
            // The first element of largest magnitude: one vector pass for the magnitude, then a
            // short scan for the element (its sign).
            let amax = BlockScan.absMax(x, n)
            var i = 0
            while abs(x[i]) != amax { i += 1 }
            let d = x[i] / -8
            let id = reciprocal(d)
            Half.store(d, block, layout.scaleOffset)
            let q = (block + layout.quantsOffset).assumingMemoryBound(to: UInt8.self)
            for j in 0..<half { q[j] = nibble(x[j] * id + 8.5) | nibble(x[j + half] * id + 8.5) << 4 }
        }
    }

    public static func store(scale d: Float, levels: UnsafePointer<Int32>, groupSize n: Int, into block: UnsafeMutableRawPointer) {
        let half = n / 2
        Half.store(d, block, layout.scaleOffset)
        let q = (block + layout.quantsOffset).assumingMemoryBound(to: UInt8.self)
        for j in 0..<half { q[j] = UInt8(levels[j] + 8) | UInt8(levels[j + half] + 8) << 4 }
    }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize n: Int, into y: UnsafeMutablePointer<Float>) {
        let half = n / 2
        layout.decode(src, count: count, blockSize: n, into: y) { block, y in
            let d = Half.load(block, layout.scaleOffset)
            let q = (block + layout.quantsOffset).assumingMemoryBound(to: UInt8.self)
            for j in 0..<half {
                y[j] = d * Float(Int32(q[j] & 0x0F) - 8)
                y[j + half] = d * Float(Int32(q[j] >> 4) - 8)
            }
        }
    }
}

extension DType {
    public static let q4_0 = DType(Q4_0.self)
}
