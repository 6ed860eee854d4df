/// ggml's `block_q8_0`, generalised to groups of n = 32, 64, 128 or 256 elements: one fp16 scale and
/// n signed bytes, x[i] ≈ d · q[i] (8.5 bits per weight at n = 32).
///
/// Quantization is ggml's `quantize_row_q8_0_ref` (and `gguf.quants.Q8_0`): d = max|x| / 127 in fp32,
/// q[i] = round-half-away-from-zero(x[i] · (1/d)), d stored as fp16. With `importance` the scale is
/// searched instead (`ScaleSearch.symmetric` over levels −127...127). Values that are not finite
/// give defined quants (`quant8`); `Quantize` refuses them before they get here.
public enum Q8_0: SymmetricBlockType {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | n | q[0..<n], int8 |
    @inlinable public static var layout: BlockLayout { BlockLayout(scaleOffset: 0, minOffset: nil, quantsOffset: 2, bitsPerQuant: 8) }

    public static let name = "q8_0"
    public static let blockSize = 32
    public static let ggmlType: UInt32? = 8
    public static let ggufFileType: UInt32? = 7
    public static func blockBytes(groupSize n: Int) -> Int { layout.blockBytes(n) }
    public static func accepts(groupSize n: Int) -> Bool { GroupSizes.flexible.contains(n) }
    public static func halfParameters(groupSize: Int) -> [Int] { [layout.scaleOffset] }
    public static let levels: ClosedRange<Int32> = -127...127

    public static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize n: Int, importance: UnsafePointer<Float>?,
                                    into out: UnsafeMutableRawPointer) {
        if let importance {
            layout.encodeSearching(x, count: count, blockSize: n, importance: importance, into: out) { x, w, levels, block in
                store(scale: ScaleSearch.symmetric(x, w, n, lowest: -127, highest: 127, levels: levels), levels: levels, groupSize: n, into: block)
            }
            return
        }
        layout.encode(x, count: count, blockSize: n, into: out) { x, block in
            let d = BlockScan.absMax(x, n) / 127
            let id = reciprocal(d)
            Half.store(d, block, layout.scaleOffset)
            let q = (block + layout.quantsOffset).assumingMemoryBound(to: Int8.self)
            for i in 0..<n { q[i] = quant8(x[i] * id) }
        }
    }

    public static func store(scale d: Float, levels: UnsafePointer<Int32>, groupSize n: Int, into block: UnsafeMutableRawPointer) {
        Half.store(d, block, layout.scaleOffset)
        let q = (block + layout.quantsOffset).assumingMemoryBound(to: Int8.self)
        for i in 0..<n { q[i] = Int8(levels[i]) }
    }

    public static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize n: Int, into y: UnsafeMutablePointer<Float>) {
        layout.decode(src, count: count, blockSize: n, into: y) { block, y in
            let d = Half.load(block, layout.scaleOffset)
            let q = (block + layout.quantsOffset).assumingMemoryBound(to: Int8.self)
            for i in 0..<n { y[i] = Float(q[i]) * d }
        }
    }
}

extension DType {
    public static let q8_0 = DType(Q8_0.self)
}
