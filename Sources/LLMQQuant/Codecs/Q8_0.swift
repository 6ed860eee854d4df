import LLMQCore

/// ggml's `block_q8_0`, generalised to groups of n = 32, 64, 128 or 256 elements: one fp16 scale and
/// n signed bytes, x[i] ≈ d · q[i] (8.5 bits per weight at n = 32).
///
/// Quantization is ggml's `quantize_row_q8_0_ref` (and `gguf.quants.Q8_0`): d = max|x| / 127 in fp32,
/// q[i] = round-half-away-from-zero(x[i] · (1/d)), d stored as fp16. With `importance` the scale is
/// searched instead (`ScaleSearch.symmetric` over levels −127...127). Weights must be finite
/// (`Quantize.elements` checks); values that are not give defined quants (`quant8`).
public struct Q8_0Codec: SymmetricBlockCodec {
    /// | offset | bytes | field |
    /// |---|---|---|
    /// | 0 | 2 | d, fp16 |
    /// | 2 | n | q[0..<n], int8 |
    @inlinable public static var layout: BlockLayout { BlockLayout(scaleOffset: 0, minOffset: nil, quantsOffset: 2, bitsPerQuant: 8) }

    public init() {}

    public var layout: BlockLayout { Self.layout }

    public var kind: DType.Kind { .q8_0 }

    public func quantize(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableRawBufferPointer, blockSize n: Int,
                         importance: UnsafeBufferPointer<Float>?) {
        let layout = Self.layout
        if let importance {
            layout.encodeSearching(src, importance, into: dst, blockSize: n) { x, w, levels, block in
                store(scale: ScaleSearch.symmetric(x, w, n, lowest: -127, highest: 127, levels: levels), levels: levels, blockSize: n, into: block)
            }
            return
        }
        layout.encode(src, into: dst, blockSize: n) { x, block in
            let d = BlockScan.absMax(x, n) / 127
            let id = reciprocal(d)
            Half.store(d, block, layout.scaleOffset)
            let q = (block + layout.quantsOffset).assumingMemoryBound(to: Int8.self)
            for i in 0..<n { q[i] = quant8(x[i] * id) }
        }
    }

    public var levels: (lowest: Int32, highest: Int32) { (-127, 127) }

    public func store(scale d: Float, levels: UnsafePointer<Int32>, blockSize n: Int, into block: UnsafeMutableRawPointer) {
        Half.store(d, block, Self.layout.scaleOffset)
        let q = (block + Self.layout.quantsOffset).assumingMemoryBound(to: Int8.self)
        for i in 0..<n { q[i] = Int8(levels[i]) }
    }

    public func dequantize(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>, blockSize n: Int) {
        let layout = Self.layout
        layout.decode(src, into: dst, blockSize: n) { block, y in
            let d = Half.load(block, layout.scaleOffset)
            let q = (block + layout.quantsOffset).assumingMemoryBound(to: Int8.self)
            for i in 0..<n { y[i] = Float(q[i]) * d }
        }
    }
}
