import _Builtin_intrinsics.intel
import LLMQCore
import LLMQQuant

/// The block types as the integer kernels see them. The unit is a 32-weight sub-block (one
/// activation block): its weights as 32 bytes, and their exact integer dot product with 32 int8
/// activations in eight Int32 lanes; `QuantizedTile` scales and sums them.
///
/// AVX2 has one instruction for 32 byte products, `vpmaddubsw` (unsigned × signed bytes, pairs
/// summed to Int16), then `vpmaddwd` by ones sums pairs to Int32. 4-bit weights go in as their
/// unsigned codes 0…15 — at most 2·15·127 per Int16, no saturation — and their offset (q4_0's −8,
/// q4_1's minimum) is applied once per sub-block through the activation sums: Σ(q − 8)·a =
/// Σq·a − 8·Σa. q8_0's signed weights use the sign trick: |w| · (a with w's sign). Swift's SIMD
/// types cannot express these (LLVM only forms `vpmaddubsw` from a saturating pattern), so the
/// kernels call the intrinsics.
protocol BlockKernel {
    /// The codec's layout (inlinable, so its offsets fold into the kernels).
    static var layout: BlockLayout { get }
    /// Sub-block `j` of the `k` in a block whose quants start at `quants`, as 32 bytes in element order.
    static func weights(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int) -> __m256i
    /// Σ w·a in eight Int32 lanes.
    static func dot(_ w: __m256i, _ a: __m256i) -> __m256i
    /// What the codes are offset by, as a multiple of the activations' sums.
    static var offset: WeightOffset { get }
    /// Rows a matrix–vector product takes at once, 1 or 2 (see `QuantizedProduct.decode`).
    static var decodeRows: Int { get }
    /// Bits of the unsigned codes `weights` gives, or 0 for signed weights (q8_0).
    static var codeBits: Int { get }
}

extension BlockKernel {
    /// The 4- and 5-bit types do twice q8_0's work per byte: two rows, two chains of FMAs.
    static var decodeRows: Int { 2 }
}

/// The term a sub-block adds besides d_w·d_a·Σq·a: (its weights' offset) · d_a·Σa.
enum WeightOffset {
    /// Signed codes, no offset (q8_0).
    case none
    /// Codes offset by a constant times the scale: q4_0's x = d·(q − 8).
    case scaled(Float)
    /// Codes offset by the block's stored minimum: q4_1's x = d·q + m.
    case stored
}

/// Weight groups of 32·k elements; a type per size so that k is a constant in each kernel.
protocol GroupSize { static var subBlocks: Int { get } }
enum Group32: GroupSize { static var subBlocks: Int { 1 } }
enum Group64: GroupSize { static var subBlocks: Int { 2 } }
enum Group128: GroupSize { static var subBlocks: Int { 4 } }
enum Group256: GroupSize { static var subBlocks: Int { 8 } }

enum Q8_0Kernel: BlockKernel {
    static var layout: BlockLayout { Q8_0Codec.layout }
    static var offset: WeightOffset { .none }
    /// One row streams fastest; q8_0's few operations per byte keep up with it.
    static var decodeRows: Int { 1 }
    static var codeBits: Int { 0 }

    @inline(__always)
    static func weights(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int) -> __m256i {
        quants.loadUnaligned(fromByteOffset: 32 * j, as: __m256i.self)
    }

    @inline(__always)
    static func dot(_ w: __m256i, _ a: __m256i) -> __m256i {
        // |w| ≤ 127 (the codec never writes −128), so 2·127·127 fits an Int16.
        _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w)), _mm256_set1_epi16(1))
    }
}

enum Q4_0Kernel: BlockKernel {
    static var layout: BlockLayout { Q4_0Codec.layout }
    static var offset: WeightOffset { .scaled(-8) }
    static var codeBits: Int { 4 }

    @inline(__always)
    static func weights(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int) -> __m256i {
        Nibbles.codes(quants, subBlock: j, of: k)
    }

    @inline(__always)
    static func dot(_ w: __m256i, _ a: __m256i) -> __m256i { Nibbles.dot(w, a) }
}

enum Q4_1Kernel: BlockKernel {
    static var layout: BlockLayout { Q4_1Codec.layout }
    static var offset: WeightOffset { .stored }
    static var codeBits: Int { 4 }

    @inline(__always)
    static func weights(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int) -> __m256i {
        Nibbles.codes(quants, subBlock: j, of: k)
    }

    @inline(__always)
    static func dot(_ w: __m256i, _ a: __m256i) -> __m256i { Nibbles.dot(w, a) }
}

enum Q5_0Kernel: BlockKernel {
    static var layout: BlockLayout { Q5_0Codec.layout }
    static var offset: WeightOffset { .scaled(-16) }
    static var codeBits: Int { 5 }

    /// The low nibbles as q4_0's, with bit 4 of each code ORed in from the block's qh field (the
    /// n/8 bytes before the nibbles). Codes 0…31: 2·31·127 still fits `vpmaddubsw`'s Int16.
    @inline(__always)
    static func weights(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int) -> __m256i {
        let low = Nibbles.codes(quants + Q5_0Codec.nibblesOffset(blockSize: 32 * k), subBlock: j, of: k)
        return _mm256_or_si256(low, FifthBits.expand(quants.loadUnaligned(fromByteOffset: 4 * j, as: UInt32.self)))
    }

    @inline(__always)
    static func dot(_ w: __m256i, _ a: __m256i) -> __m256i { Nibbles.dot(w, a) }
}

/// The 32 bits of a q5_0 sub-block's qh as 32 bytes, 0x10 where the bit is set.
enum FifthBits {
    /// Byte i of the result takes byte i/8 of the word (`vpshufb` works within 128-bit lanes, and
    /// each lane holds the whole word), then tests bit i%8 of it.
    @inline(__always)
    static func expand(_ bits: UInt32) -> __m256i {
        let spread = _mm256_shuffle_epi8(_mm256_set1_epi32(Int32(bitPattern: UInt32(littleEndian: bits))), byteOfBit)
        let isSet = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bitOfByte), bitOfByte)
        return _mm256_and_si256(isSet, _mm256_set1_epi8(0x10))
    }

    @inline(__always)
    static var byteOfBit: __m256i {
        unsafeBitCast(SIMD32<UInt8>(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                    2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3), to: __m256i.self)
    }

    @inline(__always)
    static var bitOfByte: __m256i { _mm256_set1_epi64x(Int64(bitPattern: 0x8040_2010_0804_0201)) }
}

/// 4-bit quants: byte i of a block of n holds element i (low nibble) and element i + n/2 (high).
enum Nibbles {
    /// The 32 codes (0…15) of sub-block j.
    @inline(__always)
    static func codes(_ q: UnsafeRawPointer, subBlock j: Int, of k: Int) -> __m256i {
        let low = _mm256_set1_epi8(0x0F)
        if k == 1 {
            // 16 bytes: low nibbles are elements 0..<16, high nibbles 16..<32.
            let bytes = q.loadUnaligned(as: __m128i.self)
            return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes), low)
        }
        // Sub-blocks 0..<k/2 are the low nibbles of 32-byte runs, k/2..<k the high nibbles.
        let run = j < k / 2 ? j : j - k / 2
        let bytes = q.loadUnaligned(fromByteOffset: 32 * run, as: __m256i.self)
        return _mm256_and_si256(j < k / 2 ? bytes : _mm256_srli_epi16(bytes, 4), low)
    }

    @inline(__always)
    static func dot(_ w: __m256i, _ a: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1))
    }
}
