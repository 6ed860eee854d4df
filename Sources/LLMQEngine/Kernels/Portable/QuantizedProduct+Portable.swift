#if !arch(x86_64) || PortableKernels
import LLMQCore

/// Y_i = X·W_iᵀ with Swift's SIMD types: the kernels of every architecture without hand-written
/// ones (arm64 among them), and the reference the x86 tiles are tested against when forced with
/// the `PortableKernels` trait. Rows of all N matrices form one index space split across the pool.
struct QuantizedProduct<let N: Int> {
    let w: InlineArray<N, WeightMatrix>
    let x: QuantizedActivations
    let count: Int
    let y: InlineArray<N, UnsafeMutablePointer<Float>>
    let pool: ThreadPool
    /// Always `.portable` here.
    let kernels: MatVec.Kernels

    func run(_ product: QuantizedRows) {
        var rows = InlineArray<N, Int>(repeating: 0)
        for i in 0..<N { rows[i] = w[i].rows }
        let w = w, x = x, count = count, y = y
        let grain = max(1, 65536 / max(w[0].cols * count, 1))
        pool.parallelFor(MatVec.total(rows), grain: grain) { range in
            MatVec.segments(rows, range) { i, local in product(w[i], local, x, count, y[i], kernels) }
        }
    }
}

extension BlockKernel {
    static func rows<G: GroupSize>(_: G.Type) -> QuantizedRows {
        { w, rows, x, count, y, _ in
            for r in rows {
                for t in 0..<count { y[t * w.rows + r] = QuantizedDot<Self, G>.dot(w.row(r), x, input: t) }
            }
        }
    }
}

/// Each (row, input) pair sums its sub-blocks' exact integer dot products, scaled, in sub-block order.
enum QuantizedDot<K: BlockKernel, G: GroupSize> {
    /// One weight row with one quantized input.
    @inline(__always)
    static func dot(_ row: UnsafeRawPointer, _ x: QuantizedActivations, input t: Int) -> Float {
        let k = G.subBlocks, blockBytes = K.blockBytes(subBlocks: k)
        var total: Float = 0
        var s = 0
        while s < x.blocksPerVector {
            let n = min(8, x.blocksPerVector - s)
            let f = K.factors(row + s / k * blockBytes, blockBytes: blockBytes, subBlocks: k, count: n)
            for j in 0..<n {
                let codes = K.codes(row + (s + j) / k * blockBytes, subBlock: (s + j) % k, of: k)
                let b = t * x.blocksPerVector + s + j
                let a = UnsafeRawPointer(x.quants + 32 * b).loadUnaligned(as: SIMD32<Int8>.self)
                let weights = K.codeBits == 0 ? SIMD32<Int16>(truncatingIfNeeded: SIMD32<Int8>(truncatingIfNeeded: codes))
                                              : SIMD32<Int16>(truncatingIfNeeded: codes)
                // |w·a| ≤ 127·127 or 63·127: exact in Int16, summed in Int32.
                let products = SIMD32<Int32>(truncatingIfNeeded: weights &* SIMD32<Int16>(truncatingIfNeeded: a))
                let sum = K.halves
                    ? products.lowHalf.wrappedSum() &* Int32(f.multipliers[2 * j]) &+ products.highHalf.wrappedSum() &* Int32(f.multipliers[2 * j + 1])
                    : products.wrappedSum()
                total += f.scales[j] * x.scales[b] * Float(sum)
                if K.hasOffset {
                    total += f.offsets[j] * (K.halves ? x.lowSums[b] : x.sums[b])
                    if K.halves { total += f.highOffsets[j] * x.highSums[b] }
                }
            }
            s += 8
        }
        return total
    }
}
#endif
