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
/// signed weights themselves (q8_0).
protocol BlockKernel: BlockwiseType {
    /// The type's field offsets (inlinable, so they fold into the kernels).
    static var layout: BlockLayout { get }
    /// Sub-block `j` of the `k` in a block whose quants start at `quants`, as 32 codes in element order.
    static func codes(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int) -> Codes32
    /// What the codes are offset by, as a multiple of the activations' sums.
    static var offset: WeightOffset { get }
    /// Rows a matrix–vector product takes at once, 1 or 2 (see `QuantizedProduct`).
    static var decodeRows: Int { get }
    /// Bits of the unsigned codes, or 0 for signed weights.
    static var codeBits: Int { get }
    /// The product of one matrix's rows with every input, for blocks of `k` sub-blocks. A
    /// requirement (with one default implementation per architecture) so that each conformance's
    /// witness is specialised for its type, and with it every kernel it calls: called on a type
    /// opened from the registry, the generic kernels would run unspecialised.
    static func rows(subBlocks k: Int) -> QuantizedRows
}

/// Rows `rows` of one matrix times `count` quantized inputs into y (`count × w.rows`, row-major).
typealias QuantizedRows = (_ w: WeightMatrix, _ rows: Range<Int>, _ x: QuantizedActivations, _ count: Int,
                           _ y: UnsafeMutablePointer<Float>) -> Void

extension BlockKernel {
    /// Types with more work per byte than q8_0's use two rows, two chains of FMAs.
    static var decodeRows: Int { 2 }

    static func rows(subBlocks k: Int) -> QuantizedRows {
        switch k {
        case 1: rows(Group32.self)
        case 2: rows(Group64.self)
        case 4: rows(Group128.self)
        default: rows(Group256.self)
        }
    }
}

/// The term a sub-block adds besides d_w·d_a·Σq·a: (its weights' offset) · d_a·Σa.
enum WeightOffset {
    /// Signed codes, no offset.
    case none
    /// Codes offset by a constant times the scale (x = d·(q − c)): `scaled(−c)`.
    case scaled(Float)
    /// Codes offset by the block's stored minimum: x = d·q + m.
    case stored
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

    /// The specialised product of a supported dtype.
    static func rows(_ dtype: DType) -> QuantizedRows {
        guard supports(dtype), let kernel = dtype.type as? any BlockKernel.Type else {
            preconditionFailure("no kernel for \(dtype); the loader must expand it")
        }
        return kernel.rows(subBlocks: dtype.blockSize / 32)
    }
}
