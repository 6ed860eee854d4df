import LLMQCore
import LLMQQuant

/// Dot products of one block-quantized weight row with a quantized activation, on the blocks
/// directly. The unit is a 32-weight sub-block (one activation block): its integer dot product
/// Σ q_w·q_a is exact in Int32, then scaled by d_w·d_a (plus m_w·d_a·Σq_a for q4_1). Four
/// sub-blocks are combined per step in SIMD4 accumulators so the float chain does not serialise
/// the loop.
///
/// The integer loops are plain Int8 → Int32 loops with constant trip counts, which LLVM turns into
/// vpmovsxbw/vpmaddwd on AVX2 (Swift's generic SIMD conversions are not specialised and run ~5×
/// slower). That needs the layout as compile-time constants (the codecs' layouts are inlinable)
/// and each specialised row kernel compiled on its own (`@inline(never)`): inlined into the
/// threads' closure, LLVM unrolled the loops into scalar code, 5× slower.
protocol BlockKernel {
    /// The codec's layout (inlinable, so its offsets fold into the kernels).
    static var layout: BlockLayout { get }
    /// Σ q_w·q_a for sub-block `j` (of `k` per block) of the block whose quants start at `quants`.
    static func integerDot(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int, _ a: UnsafePointer<Int8>) -> Int32
}

/// Weight groups of 32·k elements; a type per size so that k is a constant in each kernel.
protocol GroupSize { static var subBlocks: Int { get } }
enum Group32: GroupSize { static var subBlocks: Int { 1 } }
enum Group64: GroupSize { static var subBlocks: Int { 2 } }
enum Group128: GroupSize { static var subBlocks: Int { 4 } }
enum Group256: GroupSize { static var subBlocks: Int { 8 } }

enum Q8_0Kernel: BlockKernel {
    static var layout: BlockLayout { Q8_0Codec.layout }

    @inline(__always)
    static func integerDot(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int, _ a: UnsafePointer<Int8>) -> Int32 {
        let w = (quants + 32 * j).assumingMemoryBound(to: Int8.self)
        var s: Int32 = 0
        for i in 0..<32 { s &+= Int32(w[i]) &* Int32(a[i]) }
        return s
    }
}

enum Q4_0Kernel: BlockKernel {
    static var layout: BlockLayout { Q4_0Codec.layout }

    @inline(__always)
    static func integerDot(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int, _ a: UnsafePointer<Int8>) -> Int32 {
        Nibbles.dot(quants.assumingMemoryBound(to: UInt8.self), subBlock: j, of: k, offset: 8, a)
    }
}

enum Q4_1Kernel: BlockKernel {
    static var layout: BlockLayout { Q4_1Codec.layout }

    @inline(__always)
    static func integerDot(_ quants: UnsafeRawPointer, subBlock j: Int, of k: Int, _ a: UnsafePointer<Int8>) -> Int32 {
        Nibbles.dot(quants.assumingMemoryBound(to: UInt8.self), subBlock: j, of: k, offset: 0, a)
    }
}

/// 4-bit quants: byte i of a block holds element i (low nibble) and element i + n/2 (high). Each
/// nibble run is its own loop (interleaving low and high in one loop vectorized ~30% worse).
enum Nibbles {
    /// Sub-block j of a 4-bit block of k sub-blocks, each weight minus `offset`.
    @inline(__always)
    static func dot(_ q: UnsafePointer<UInt8>, subBlock j: Int, of k: Int, offset: Int8, _ a: UnsafePointer<Int8>) -> Int32 {
        var s: Int32 = 0
        if k == 1 {
            // 16 bytes: low nibbles are elements 0..<16, high nibbles 16..<32.
            for i in 0..<16 { s &+= Int32(Int8(bitPattern: q[i] & 0x0F) &- offset) &* Int32(a[i]) }
            for i in 0..<16 { s &+= Int32(Int8(bitPattern: q[i] >> 4) &- offset) &* Int32(a[i + 16]) }
        } else if j < k / 2 {
            // Sub-blocks 0..<k/2 are the low nibbles of 32-byte runs, k/2..<k the high nibbles.
            let bytes = q + 32 * j
            for i in 0..<32 { s &+= Int32(Int8(bitPattern: bytes[i] & 0x0F) &- offset) &* Int32(a[i]) }
        } else {
            let bytes = q + 32 * (j - k / 2)
            for i in 0..<32 { s &+= Int32(Int8(bitPattern: bytes[i] >> 4) &- offset) &* Int32(a[i]) }
        }
        return s
    }
}

enum QuantizedDot {
    /// w_row · x for a row of `x.count / k` blocks of kernel `K` at group `G`.
    @inline(never)
    static func row<K: BlockKernel, G: GroupSize>(_: K.Type, _: G.Type, _ row: UnsafeRawPointer, _ x: QuantizedActivation) -> Float {
        let k = G.subBlocks
        let layout = K.layout
        let blockBytes = layout.blockBytes(32 * k)
        @inline(__always) func half(_ p: UnsafeRawPointer) -> Float {
            Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(as: UInt16.self))))
        }
        /// Sub-block `s` of the row, `j` within its block.
        @inline(__always) func dot(_ block: UnsafeRawPointer, _ j: Int, _ s: Int) -> Float {
            Float(K.integerDot(block + layout.quantsOffset, subBlock: j, of: k, x.quants(s)))
        }
        var products = SIMD4<Float>(), offsets = SIMD4<Float>()
        // Steps of whole blocks and at least 4 sub-blocks, so every block offset and j inside a
        // step is a constant (k is 1, 2, 4 or 8).
        let step = max(4, k)
        var s = 0
        while s + step <= x.count {
            let first = row + (s / k) * blockBytes
            for u in stride(from: 0, to: step, by: 4) {
                let b0 = first + (u / k) * blockBytes, b1 = first + ((u + 1) / k) * blockBytes
                let b2 = first + ((u + 2) / k) * blockBytes, b3 = first + ((u + 3) / k) * blockBytes
                let dots = SIMD4<Float>(dot(b0, u % k, s + u), dot(b1, (u + 1) % k, s + u + 1),
                                        dot(b2, (u + 2) % k, s + u + 2), dot(b3, (u + 3) % k, s + u + 3))
                let d = layout.scaleOffset
                let scales = SIMD4<Float>(half(b0 + d), half(b1 + d), half(b2 + d), half(b3 + d))
                products.addProduct(scales * UnsafeRawPointer(x.scales + s + u).loadUnaligned(as: SIMD4<Float>.self), dots)
                if let m = layout.minOffset {
                    let mins = SIMD4<Float>(half(b0 + m), half(b1 + m), half(b2 + m), half(b3 + m))
                    offsets.addProduct(mins, UnsafeRawPointer(x.sums + s + u).loadUnaligned(as: SIMD4<Float>.self))
                }
            }
            s += step
        }
        var sum = products.sum() + offsets.sum()
        // Rows of 32 or 64 whose block count is not a multiple of 4.
        while s < x.count {
            let block = row + (s / k) * blockBytes
            sum += half(block + layout.scaleOffset) * x.scales[s] * dot(block, s % k, s)
            if let m = layout.minOffset { sum += half(block + m) * x.sums[s] }
            s += 1
        }
        return sum
    }
}
