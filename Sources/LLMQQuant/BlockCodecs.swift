import LLMQCore

/// Reads one block layout: the reference dequantizer over whole blocks. Fast dot-product kernels
/// for the same layout live in LLMQEngine and are tested against these.
public protocol BlockDecoder: Sendable {
    var kind: DType.Kind { get }
    /// Expands `src` (a whole number of blocks of `blockSize` elements) into `dst`.
    func dequantize(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>, blockSize: Int)
}

/// A block layout llmq also writes: adds the reference quantizer.
public protocol BlockCodec: BlockDecoder {
    /// Field offsets of one block (scales, quants), shared with the engine's kernels.
    var layout: BlockLayout { get }
    /// Quantizes `src` (a whole number of blocks) into `dst` (`src.count / blockSize * blockBytes` bytes).
    /// Without `importance`: the reference (ggml) rounding. With it (one weight ≥ 0 per element):
    /// each block's scale (and minimum) is searched to minimize Σ importance·(x − x̂)².
    func quantize(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableRawBufferPointer, blockSize: Int,
                  importance: UnsafeBufferPointer<Float>?)
}

/// The registry of block layouts, by dtype kind. A new block type adds its codec (or decoder) here.
public enum BlockCodecs {
    public static let codecs: [any BlockCodec] = [Q8_0Codec(), Q4_0Codec(), Q4_1Codec()]
    /// Layouts llmq reads but does not write.
    public static let decoders: [any BlockDecoder] = [
        Q5_0Decoder(), Q5_1Decoder(), Q2_KDecoder(), Q3_KDecoder(), Q4_KDecoder(), Q5_KDecoder(), Q6_KDecoder(),
    ]

    public static func codec(for kind: DType.Kind) -> (any BlockCodec)? {
        codecs.first { $0.kind == kind }
    }

    public static func decoder(for kind: DType.Kind) -> (any BlockDecoder)? {
        codec(for: kind) ?? decoders.first { $0.kind == kind }
    }
}
