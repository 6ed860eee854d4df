/// ggml's `block_q4_1`, generalised to groups of n = 32, 64, 128 or 256 elements: fp16 scale, fp16
/// minimum and n/2 bytes of 4-bit quants, x[i] ≈ d · q[i] + m (5.0 bits per weight at n = 32).
/// Byte j holds element j in its low nibble and element j + n/2 in its high nibble.
///
/// Quantization is ggml's `quantize_row_q4_1_ref` (and `gguf.quants.Q4_1`): m = min x, d = (max − min) / 15,
/// q[i] = min(15, trunc((x[i] − m) · (1/d) + 0.5)), all in fp32, d and m stored as fp16. Round to
/// nearest; with `importance` the scale and minimum are searched instead (`ScaleSearch.affine`).
/// Ties between +0 and −0 at the extremes go to the first element, as in ggml's loop (numpy's
/// reduction order decides them in gguf.quants).
public enum Q4_1: SubBlockScaledType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | 2 | m, fp16 |
    /// | 4 | n/2 | byte j = q[j] \| q[j + n/2] << 4 |
    @inlinable public static var layout: BlockLayout { BlockLayout(scaleOffset: 0, minOffset: minOffset, quantsOffset: 4, bitsPerQuant: 4) }
    @inlinable public static var minOffset: Int { 2 }

    public static let name = "q4_1"
    public static let blockSize = 32
    public static let ggmlType: UInt32? = 3
    public static let ggufFileType: UInt32? = 3
    public static func blockBytes(groupSize n: Int) -> Int { layout.blockBytes(n) }
    public static func accepts(groupSize n: Int) -> Bool { GroupSizes.flexible.contains(n) }
    public static func halfParameters(groupSize: Int) -> [Int] { [layout.scaleOffset, minOffset] }

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize n: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        let half = n / 2
        if let importance {
            layout.encodeSearching(x, count: count, blockSize: n, importance: importance, into: out) { x, w, levels, block in
                let (d, m) = ScaleSearch.affine(x, w, n, top: 15, levels: levels)
                Half.store(d, block, layout.scaleOffset)
                Half.store(m, block, minOffset)
                let q = (block + layout.quantsOffset).assumingMemoryBound(to: UInt8.self)
                for j in 0..<half { q[j] = UInt8(levels[j]) | UInt8(levels[j + half]) << 4 }
            }
            return
        }
        layout.encode(x, count: count, blockSize: n, into: out) { x, block in
            let (lowest, highest) = BlockScan.extremes(x, n)
            let d = (highest - lowest) / 15
            let id = reciprocal(d)
            Half.store(d, block, layout.scaleOffset)
            Half.store(lowest, block, minOffset)
            let q = (block + layout.quantsOffset).assumingMemoryBound(to: UInt8.self)
            for j in 0..<half { q[j] = nibble((x[j] - lowest) * id + 0.5) | nibble((x[j + half] - lowest) * id + 0.5) << 4 }
        }
    }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize n: Int, into y: UnsafeMutablePointer<Float>) {
        let half = n / 2
        layout.decode(src, count: count, blockSize: n, into: y) { block, y in
            let d = Half.load(block, layout.scaleOffset), m = Half.load(block, minOffset)
            let q = (block + layout.quantsOffset).assumingMemoryBound(to: UInt8.self)
            for j in 0..<half {
                y[j] = d * Float(q[j] & 0x0F) + m
                y[j + half] = d * Float(q[j] >> 4) + m
            }
        }
    }

    // Error feedback sees one sub-block whose scale and minimum are the block's: dmin = −m.
    public static func subBlockSize(groupSize n: Int) -> Int { n }
    public static let levels: ClosedRange<Int32> = 0...15
    public static let scaleRange: ClosedRange<Int32> = 1...1
    public static let minRange: ClosedRange<Int32> = 1...1

    public static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters) {
        p.d = Half.load(block, layout.scaleOffset)
        p.dmin = -Half.load(block, minOffset)
        (p.scales[0], p.mins[0]) = (1, 1)
    }

    public static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize n: Int, into block: UnsafeMutableRawPointer) {
        Half.store(p.d, block, layout.scaleOffset)
        Half.store(-p.dmin, block, minOffset)
        let q = (block + layout.quantsOffset).assumingMemoryBound(to: UInt8.self)
        for j in 0..<n / 2 { q[j] = UInt8(levels[j]) | UInt8(levels[j + n / 2]) << 4 }
    }
}

extension DType {
    public static let q4_1 = DType(Q4_1.self)
}
