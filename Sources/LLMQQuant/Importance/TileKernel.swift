/// The one matrix-product kernel GPTQ needs, both for the blocked Cholesky factorization's
/// trailing updates and for error feedback's lazy batch updates: a 4 × 16 tile of
/// C = A·B with A read by rows (each A[r, k] broadcast) and B by rows of 16 contiguous values.
/// Each element is a sum over k in ascending order with fused multiply-adds, whatever the tile's
/// place, so results do not depend on how rows are split between calls or threads.
struct Tile4x16 {
    var c: InlineArray<8, SIMD8<Float>> = .init(repeating: SIMD8<Float>())

    /// Σ_{k < depth} a[r·lda + k] · b[k·ldb ..< k·ldb + 16] for r < 4.
    @inline(__always)
    init(_ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, depth: Int) {
        let rb = UnsafeRawPointer(b)
        var c0 = SIMD8<Float>(), c1 = SIMD8<Float>(), c2 = SIMD8<Float>(), c3 = SIMD8<Float>()
        var c4 = SIMD8<Float>(), c5 = SIMD8<Float>(), c6 = SIMD8<Float>(), c7 = SIMD8<Float>()
        let a0 = a, a1 = a + lda, a2 = a + 2 * lda, a3 = a + 3 * lda
        for k in 0..<depth {
            let b0 = rb.loadUnaligned(fromByteOffset: 4 * k * ldb, as: SIMD8<Float>.self)
            let b1 = rb.loadUnaligned(fromByteOffset: 4 * (k * ldb + 8), as: SIMD8<Float>.self)
            let x0 = SIMD8<Float>(repeating: a0[k]), x1 = SIMD8<Float>(repeating: a1[k])
            let x2 = SIMD8<Float>(repeating: a2[k]), x3 = SIMD8<Float>(repeating: a3[k])
            c0 = c0.addingProduct(x0, b0); c1 = c1.addingProduct(x0, b1)
            c2 = c2.addingProduct(x1, b0); c3 = c3.addingProduct(x1, b1)
            c4 = c4.addingProduct(x2, b0); c5 = c5.addingProduct(x2, b1)
            c6 = c6.addingProduct(x3, b0); c7 = c7.addingProduct(x3, b1)
        }
        c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3; c[4] = c4; c[5] = c5; c[6] = c6; c[7] = c7
    }

    /// Row r's value at column j < 16.
    @inline(__always)
    subscript(r: Int, j: Int) -> Float { c[2 * r + j / 8][j % 8] }

    /// Adds row r to the 16 values at `p`, or subtracts it.
    @inline(__always)
    func add(row r: Int, to p: UnsafeMutablePointer<Float>, negated: Bool = false) {
        let raw = UnsafeMutableRawPointer(p)
        for h in 0..<2 {
            let old = raw.loadUnaligned(fromByteOffset: 32 * h, as: SIMD8<Float>.self)
            raw.storeBytes(of: negated ? old - c[2 * r + h] : old + c[2 * r + h], toByteOffset: 32 * h, as: SIMD8<Float>.self)
        }
    }
}

/// Σ a[k]·b[k] for k < count, eight lanes at a time then the rest in order.
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
    var s = SIMD8<Float>()
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var k = 0
    while k + 8 <= count {
        s = s.addingProduct(ra.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self),
                            rb.loadUnaligned(fromByteOffset: 4 * k, as: SIMD8<Float>.self))
        k += 8
    }
    var total = s.sum()
    while k < count {
        total = total.addingProduct(a[k], b[k])
        k += 1
    }
    return total
}
