#if arch(x86_64) && !PortableKernels
import _Builtin_intrinsics.intel
/// 32 bytes of weight codes, in the form the kernels of this architecture take them.
typealias Codes32 = __m256i
#else
typealias Codes32 = SIMD32<UInt8>
#endif
import LLMQCore

/// A block type as the integer kernels see it. The unit is a 32-weight sub-block (one activation
/// block): its weights as 32 bytes of codes whose exact integer dot product with 32 int8
/// activations the tiles form, then scale and sum. A block type gets kernels by conforming in its
/// own file (`Q4_0+Kernel.swift`); `QuantizedKernels` finds the conformance through the registry,
/// so nothing else names the type.
///
/// Codes are unsigned (0 ..< 2^codeBits) with the weights' offset applied once per sub-block
/// through the activations' sums — Σ(q − 8)·a = Σq·a − 8·Σa for q4_0 — or, for `codeBits` 0, the
/// signed weights themselves (q8_0, the IQ4 lookups), |w| ≤ 127.
///
/// A block holds k = 1…8 sub-blocks: one scale for all of them (q4_0 at groups of 32…256) or one
/// per sub-block (the K-quants' 256-weight super-blocks), which `factors` hands over for eight
/// sub-blocks at a time as float vectors. Types whose two 16-weight halves have their own scales
/// (`halves`: Q6_K, Q3_K, Q2_K) give them as integers that multiply each half's products before
/// they are summed — the eight Int32 lanes of a sub-block's product hold elements 4i…4i+3, so
/// lanes 0–3 are the first half — and their offsets per half, against the activations' sums of
/// each half.
protocol BlockKernel: BlockwiseType {
    /// Bytes of one block of `k` sub-blocks.
    static func blockBytes(subBlocks k: Int) -> Int
    /// Sub-block `j` of the `k` in the block at `block`, as 32 codes in element order.
    static func codes(_ block: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32
    /// The factors of the `count` ≤ 8 sub-blocks starting with the first of the block at `block`
    /// (blocks `blockBytes` apart); lanes from `count` on are 0.
    static func factors(_ block: UnsafeRawPointer, blockBytes: Int, subBlocks k: Int, count: Int) -> SubBlockFactors
    /// Whether a sub-block adds an offset term (its `factors.offsets` times the activations' sums).
    static var hasOffset: Bool { get }
    /// Whether each 16-weight half has its own integer multiplier and offset.
    static var halves: Bool { get }
    /// Rows a matrix–vector product takes at once, 1 or 2 (see `QuantizedProduct`).
    static var decodeRows: Int { get }
    /// Bits of the unsigned codes, or 0 for signed weights.
    static var codeBits: Int { get }
    /// The product of one matrix's rows with every input, for blocks of `k` sub-blocks (by
    /// default any of 1, 2, 4, 8; types of one block size give theirs alone: `rows(Group256.self)`).
    /// A requirement so that each conformance's witness is specialised for its type, and with it
    /// every kernel it calls: called on a type opened from the registry, the generic kernels
    /// would run unspecialised.
    static func rows(subBlocks k: Int) -> QuantizedRows
}

/// Rows `rows` of one matrix times `count` quantized inputs into y (`count × w.rows`, row-major),
/// with the kernels of `level`.
typealias QuantizedRows = (_ w: WeightMatrix, _ rows: Range<Int>, _ x: QuantizedActivations, _ count: Int,
                           _ y: UnsafeMutablePointer<Float>, _ level: MatVec.Kernels) -> Void

/// What eight consecutive sub-blocks add besides their codes, lane j for sub-block j: a sub-block
/// contributes scales[j]·d_a·(its integer product) and, for types with offsets, offsets[j]·d_a·Σa
/// (for `halves` types: offsets[j]·d_a·Σa over the first half and highOffsets[j]·d_a·Σa over the
/// second, its integer product having multiplied the halves' products by multipliers[2j] and
/// multipliers[2j + 1]).
struct SubBlockFactors {
    var scales: SIMD8<Float>
    var offsets = SIMD8<Float>()
    var highOffsets = SIMD8<Float>()
    var multipliers = SIMD16<Int8>()
}

extension BlockKernel {
    /// Sub-blocks 0 ..< `subBlocks` of `row` (blocks of `k` sub-blocks) in order: each one's codes,
    /// the factors of its group of eight and its lane in them — what the batched tiles' packers
    /// rearrange, each into its own layout.
    @inline(__always)
    static func forEachSubBlock(of row: UnsafeRawPointer, subBlocks: Int, perBlock k: Int,
                                _ body: (_ j: Int, _ codes: Codes32, _ factors: SubBlockFactors, _ lane: Int) -> Void) {
        let blockBytes = Self.blockBytes(subBlocks: k)
        var s = 0
        while s < subBlocks {
            let f = factors(row + s / k * blockBytes, blockBytes: blockBytes, subBlocks: k, count: min(8, subBlocks - s))
            for j in s..<min(s + 8, subBlocks) { body(j, codes(row + j / k * blockBytes, subBlock: j % k, of: k), f, j - s) }
            s += 8
        }
    }

    /// Types with more work per byte than q8_0's use two rows, two chains of FMAs.
    static var decodeRows: Int { 2 }
    static var halves: Bool { false }

    static func rows(subBlocks k: Int) -> QuantizedRows {
        switch k {
        case 1: rows(Group32.self)
        case 2: rows(Group64.self)
        case 4: rows(Group128.self)
        default: rows(Group256.self)
        }
    }
}

/// Weight groups of 32·k elements; a type per size so that k is a constant in each kernel.
protocol GroupSize { static var subBlocks: Int { get } }
enum Group32: GroupSize { static var subBlocks: Int { 1 } }
enum Group64: GroupSize { static var subBlocks: Int { 2 } }
enum Group128: GroupSize { static var subBlocks: Int { 4 } }
enum Group256: GroupSize { static var subBlocks: Int { 8 } }

enum QuantizedKernels {
    static func supports(_ dtype: DType) -> Bool {
        dtype.type is any BlockKernel.Type && dtype.isValidBlockSize && [32, 64, 128, 256].contains(dtype.blockSize)
    }

    /// The kernel of a supported dtype.
    static func kernel(_ dtype: DType) -> any BlockKernel.Type {
        guard supports(dtype), let kernel = dtype.type as? any BlockKernel.Type else {
            preconditionFailure("no kernel for \(dtype); the loader must expand it")
        }
        return kernel
    }
}
