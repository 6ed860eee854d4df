/// One way of storing tensor elements — what a row of ggml's type-traits table holds: the layout,
/// the codes files use for it, and the reference decoder. Plain types (f32, i8…) are block types
/// with one element per block. Each type is one file in `Types/`; `BlockTypes.all` lists them, and
/// everything else — `DType` parsing, GGUF and container codes, recipes, kernels, help texts,
/// benchmarks — derives from these declarations. Types are caseless enums used through their
/// metatypes, so generic code specialises on them (the engine's kernels) and `any BlockType.Type`
/// works as a value (`DType`).
public protocol BlockType: Sendable {
    /// The name in recipes, files' metadata and on the command line: `q4_0`, `f16`, `q4_K`.
    static var name: String { get }
    /// Elements per block of the type's own (ggml's) layout; 1 for plain types.
    static var blockSize: Int { get }
    /// Bytes of one block of `groupSize` elements.
    static func blockBytes(groupSize: Int) -> Int
    /// Group sizes the layout takes besides its own (llmq's q4_0 also groups 64…256 elements).
    static func accepts(groupSize: Int) -> Bool
    /// ggml's `enum ggml_type` id, when the type's bytes at its own block size are ggml's.
    static var ggmlType: UInt32? { get }
    /// llama.cpp's `llama_ftype` for a file whose matrices are mostly this type (`general.file_type`).
    static var ggufFileType: UInt32? { get }
    /// The llmq container's code: ggml's id where ggml has the type, llmq's own from 256.
    static var containerCode: UInt32 { get }
    /// Whether blocks run across rows (llama2.c's int8 groups), so only the element count must
    /// be a whole number of blocks and decoding needs the whole tensor's bytes.
    static var spansRows: Bool { get }
    /// Expands `elements` of a tensor whose whole stored data is `data` into `y`. For types with
    /// blocks the range starts and ends on block boundaries (`Dequantize` checks).
    static func decode(_ data: UnsafeRawBufferPointer, elements: Range<Int>, groupSize: Int, into y: UnsafeMutablePointer<Float>)
}

extension BlockType {
    public static func accepts(groupSize: Int) -> Bool { groupSize == blockSize }
    public static var ggmlType: UInt32? { nil }
    public static var ggufFileType: UInt32? { nil }
    public static var containerCode: UInt32 { ggmlType! }
    public static var spansRows: Bool { false }
}

/// A type stored block after block, each block on its own: decoding a range is decoding its blocks.
public protocol BlockwiseType: BlockType {
    /// Expands `count` blocks of `groupSize` elements starting at `src` into `y`.
    static func decodeBlocks(_ src: UnsafeRawPointer, count: Int, groupSize: Int, into y: UnsafeMutablePointer<Float>)
}

extension BlockwiseType {
    public static func decode(_ data: UnsafeRawBufferPointer, elements: Range<Int>, groupSize: Int, into y: UnsafeMutablePointer<Float>) {
        guard !elements.isEmpty, let base = data.baseAddress else { return }
        decodeBlocks(base + elements.lowerBound / groupSize * blockBytes(groupSize: groupSize), count: elements.count / groupSize,
                     groupSize: groupSize, into: y)
    }
}

/// A type llmq also writes: adds the reference encoder.
public protocol EncodableType: BlockwiseType {
    /// Encodes `count` blocks of `groupSize` values from `x` into `out`. Without `importance`: the
    /// reference (ggml's) rounding. With it (one weight ≥ 0 per value): each block's parameters are
    /// searched to minimise Σ importance·(x − x̂)² — same layout, different bytes.
    static func encodeBlocks(_ x: UnsafePointer<Float>, count: Int, groupSize: Int, importance: UnsafePointer<Float>?,
                             into out: UnsafeMutableRawPointer)
    /// Whether encoding derives a block's parameters from its values, so one NaN or infinity would
    /// wreck the whole block (plain float types round each value alone).
    static var needsFiniteValues: Bool { get }
    /// Byte offsets, within a block of `groupSize`, of the fp16 parameters encoding derives (scale,
    /// minimum): a block whose parameter overflows fp16 would decode to infinities, so it is refused.
    static func halfParameters(groupSize: Int) -> [Int]
}

extension EncodableType {
    public static var needsFiniteValues: Bool { true }
    public static func halfParameters(groupSize: Int) -> [Int] { [] }
}

/// A type error feedback (GPTQ) can round one element at a time: a row reaches a block, the type
/// fixes the block's parameters from its current values, then rounds element after element — each
/// carrying the error fed forward from those before — and finally stores the block.
public protocol ColumnwiseRoundable: EncodableType {
    associatedtype Rounder: BlockRounder
    /// A rounder for blocks of `groupSize`, reused block after block.
    static func rounder(groupSize: Int) -> Rounder
}

/// One block's rounding in progress (see `ColumnwiseRoundable`).
public protocol BlockRounder {
    /// Chooses the block's parameters (scales, minimums) from its current values `x` and their
    /// importance `w`, one per value.
    mutating func begin(_ x: UnsafePointer<Float>, importance w: UnsafePointer<Float>)
    /// Rounds element `i` of the block, `x` holding the block's current values (those before `i`
    /// already rounded, the rest updated by the feedback since `begin`); returns the value the
    /// stored block will decode to there.
    mutating func round(_ x: UnsafePointer<Float>, at i: Int) -> Float
    /// Writes the block as rounded.
    func store(into block: UnsafeMutableRawPointer)
}

/// A type x = d·q with one fp16 scale per block and integer levels q: the scale search and error
/// feedback (GPTQ) choose d and the levels, the type stores them.
public protocol SymmetricBlockType: ColumnwiseRoundable {
    static var levels: ClosedRange<Int32> { get }
    /// Writes one block of `groupSize` elements: scale `d` (fp16-representable) and its levels.
    static func store(scale d: Float, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer)
}

/// A type whose block is sub-blocks sharing integer scales (and minimums) under fp16 super-block
/// parameters: x = (d·scale)·value(q) − dmin·min — the K-quants and IQ4_XS, and as one sub-block
/// with scale and minimum 1, IQ4_NL, q4_1 and q5_1 (dmin = −m). Error feedback rounds it with
/// `SubBlockRounder`.
public protocol SubBlockScaledType: ColumnwiseRoundable {
    /// Elements sharing one scale (and minimum) in a block of `groupSize`.
    static func subBlockSize(groupSize: Int) -> Int
    /// The integer levels q, sub-block scales and minimums the layout holds (minimums 0...0 when
    /// there are none).
    static var levels: ClosedRange<Int32> { get }
    static var scaleRange: ClosedRange<Int32> { get }
    static var minRange: ClosedRange<Int32> { get }
    /// The value level q stands for: q on a uniform grid.
    static func value(ofLevel q: Int32) -> Float
    /// The level whose value is nearest t.
    static func nearestLevel(_ t: Float) -> Int32
    /// An encoded block's d, dmin, sub-block scales and minimums, as its decoder uses them.
    static func parameters(of block: UnsafeRawPointer, groupSize: Int, into p: inout SubBlockParameters)
    /// Writes a block from its parameters and levels.
    static func store(_ p: SubBlockParameters, levels: UnsafePointer<Int32>, groupSize: Int, into block: UnsafeMutableRawPointer)
}

extension SubBlockScaledType {
    public static var minRange: ClosedRange<Int32> { 0...0 }
    public static func value(ofLevel q: Int32) -> Float { Float(q) }
    public static func nearestLevel(_ t: Float) -> Int32 { max(levels.lowerBound, min(levels.upperBound, GGMLSearch.nearestInt(t))) }
    public static func rounder(groupSize: Int) -> SubBlockRounder<Self> { SubBlockRounder(groupSize: groupSize) }
}

/// A block's parameters for `SubBlockScaledType`: x = (d·scales[j])·value(q) − dmin·mins[j].
public struct SubBlockParameters: Sendable {
    public var d: Float = 0
    public var dmin: Float = 0
    public var scales: [Int32]
    public var mins: [Int32]

    public init(subBlocks: Int) {
        scales = [Int32](repeating: 0, count: subBlocks)
        mins = [Int32](repeating: 0, count: subBlocks)
    }
}
