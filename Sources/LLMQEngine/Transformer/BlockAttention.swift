/// Causal attention for 8 consecutive query positions of one head at once, vectorized across the
/// queries: the scores of all 8 against a key are one SIMD8 built from head_dim FMAs, with no
/// horizontal sums, and each value row is loaded once for all 8 outputs. For head sizes that are
/// a multiple of 8; the batched forward pass uses it, token-by-token decoding uses
/// `KVCacheLayer.attend` (the results agree to float rounding).
enum BlockAttention {
    typealias V = SIMD8<Float>

    /// Floats of scratch one call needs: scores for every key (8 lanes) and the transposed queries.
    static func scratchFloats(contextLength: Int, headDim: Int) -> Int { 8 * (contextLength + headDim) }

    /// - Parameters:
    ///   - queries: `count` (1...8) query rows for consecutive positions `firstPos ..< firstPos + count`,
    ///     `stride` floats apart; each row's `headDim` values at the pointer.
    ///   - out: the outputs, laid out like the queries.
    static func attend(_ cache: KVCacheLayer, kvHead: Int, queries: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                       stride: Int, firstPos: Int, count: Int, scratch: UnsafeMutablePointer<Float>) {
        let headDim = cache.headDim
        let keyCount = firstPos + count
        let scores = UnsafeMutableRawPointer(scratch)                       // (key, lane)
        let transposed = UnsafeMutableRawPointer(scratch + 8 * keyCount)    // (d, lane)
        let keys = UnsafeRawPointer(cache.keys(of: kvHead))
        let values = UnsafeRawPointer(cache.values(of: kvHead))

        // Qᵀ, pre-scaled by 1/√head_dim; lanes past `count` stay zero.
        for d in 0..<headDim {
            var column = V()
            for j in 0..<count { column[j] = queries[j * stride + d] * cache.scale }
            transposed.storeBytes(of: column, toByteOffset: 32 * d, as: V.self)
        }
        var maxScore = V(repeating: -.infinity)
        // Lane j is query position firstPos + j: keys after it are masked out.
        func record(_ s: V, _ t: Int) {
            var s = s
            if t > firstPos { s.replace(with: -.infinity, where: V.Scalar(t - firstPos) .> laneIndex) }
            scores.storeBytes(of: s, toByteOffset: 32 * t, as: V.self)
            maxScore.replace(with: s, where: s .> maxScore)
        }
        // Four keys per pass over Qᵀ: each loaded column feeds four FMAs instead of one (the loop
        // was bound by loads). Each key's score is the same chain of FMAs as one at a time.
        var t = 0
        while t + 4 <= keyCount {
            let k0 = keys + 4 * t * headDim, k1 = k0 + 4 * headDim, k2 = k1 + 4 * headDim, k3 = k2 + 4 * headDim
            var s0 = V(), s1 = V(), s2 = V(), s3 = V()
            for d in 0..<headDim {
                let column = transposed.load(fromByteOffset: 32 * d, as: V.self)
                s0.addProduct(column, V(repeating: k0.load(fromByteOffset: 4 * d, as: Float.self)))
                s1.addProduct(column, V(repeating: k1.load(fromByteOffset: 4 * d, as: Float.self)))
                s2.addProduct(column, V(repeating: k2.load(fromByteOffset: 4 * d, as: Float.self)))
                s3.addProduct(column, V(repeating: k3.load(fromByteOffset: 4 * d, as: Float.self)))
            }
            record(s0, t); record(s1, t + 1); record(s2, t + 2); record(s3, t + 3)
            t += 4
        }
        while t < keyCount {
            let key = keys + 4 * t * headDim
            var s = V()
            for d in 0..<headDim {
                s.addProduct(transposed.load(fromByteOffset: 32 * d, as: V.self), V(repeating: key.load(fromByteOffset: 4 * d, as: Float.self)))
            }
            record(s, t)
            t += 1
        }
        var sum = V()
        for t in 0..<keyCount {
            let e = exp(scores.load(fromByteOffset: 32 * t, as: V.self) - maxScore)
            scores.storeBytes(of: e, toByteOffset: 32 * t, as: V.self)
            sum += e
        }
        let inverse = 1 / sum
        var c = 0
        while c < headDim {
            var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
            for t in 0..<keyCount {
                let v = values.loadUnaligned(fromByteOffset: 4 * (t * headDim + c), as: V.self)
                let p = scores.load(fromByteOffset: 32 * t, as: V.self)
                a0.addProduct(V(repeating: p[0]), v); a1.addProduct(V(repeating: p[1]), v)
                a2.addProduct(V(repeating: p[2]), v); a3.addProduct(V(repeating: p[3]), v)
                a4.addProduct(V(repeating: p[4]), v); a5.addProduct(V(repeating: p[5]), v)
                a6.addProduct(V(repeating: p[6]), v); a7.addProduct(V(repeating: p[7]), v)
            }
            func store(_ j: Int, _ a: V) {
                if j < count { UnsafeMutableRawPointer(out + j * stride + c).storeBytes(of: a * inverse[j], as: V.self) }
            }
            store(0, a0); store(1, a1); store(2, a2); store(3, a3); store(4, a4); store(5, a5); store(6, a6); store(7, a7)
            c += 8
        }
    }

    private static let laneIndex = V(0, 1, 2, 3, 4, 5, 6, 7)

    /// e^x for 8 lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by a degree-7 polynomial (the classic
    /// Cephes coefficients, ~1 ulp), times 2^n through the exponent bits. −∞ and anything below
    /// the smallest normal result give 0. Written with comparisons and bit casts only: the
    /// standard library's generic SIMD rounding and min/max do not vectorize.
    @inline(__always)
    static func exp(_ x: V) -> V {
        var clamped = x
        clamped.replace(with: -87.3, where: x .< -87.3)
        clamped.replace(with: 88, where: x .> 88)
        // Adding 1.5·2²³ rounds to an integer held in the low mantissa bits.
        let magic: Float = 12_582_912
        let shifted = clamped * 1.442_695_04 + magic
        let n = shifted - magic
        let exponent = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- Int32(bitPattern: magic.bitPattern)
        let r = clamped - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = V(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_95e-3
        p = p * r + 8.333_451_9e-3
        p = p * r + 4.166_579_59e-2
        p = p * r + 1.666_666_55e-1
        p = p * r + 5.000_000_12e-1
        p = p * r * r + r + 1
        let scale = unsafeBitCast((exponent &+ 127) &<< 23, to: V.self)
        return (p * scale).replacing(with: 0, where: x .< -87.3)
    }
}
