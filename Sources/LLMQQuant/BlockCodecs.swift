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

/// A block type x = d·q with integer levels q in `levels` and one fp16 scale per block (q8_0,
/// q5_0, q4_0): the searches and error feedback choose d and the levels, the codec stores them.
public protocol SymmetricBlockCodec: BlockCodec {
    var levels: (lowest: Int32, highest: Int32) { get }
    /// Writes one block of `n` elements: scale `d` (fp16-representable) and its levels.
    func store(scale d: Float, levels: UnsafePointer<Int32>, blockSize n: Int, into block: UnsafeMutableRawPointer)
}

/// The registry of block layouts, by dtype kind. A new block type adds its codec (or decoder) here.
public enum BlockCodecs {
    public static let codecs: [any BlockCodec] = [Q8_0Codec(), Q4_0Codec(), Q4_1Codec(), Q5_0Codec()]
    /// Layouts llmq reads but does not write.
    public static let decoders: [any BlockDecoder] = [
        Q5_1Decoder(), Q2_KDecoder(), Q3_KDecoder(), Q4_KDecoder(), Q5_KDecoder(), Q6_KDecoder(),
    ]

    public static func codec(for kind: DType.Kind) -> (any BlockCodec)? {
        codecs.first { $0.kind == kind }
    }

    public static func decoder(for kind: DType.Kind) -> (any BlockDecoder)? {
        codec(for: kind) ?? decoders.first { $0.kind == kind }
    }
}
