import LLMQCore

/// Input vectors quantized for the integer kernels, as ggml quantizes activations for its 8-bit
/// and 4-bit dot products: blocks of 32 quantized exactly as the 8-bit reference encoder does
/// (d = max|x|/127 stored as fp16, q = round-half-away(x/d)). The kernels read them unpacked:
/// all quants contiguous and 32-byte aligned, d as fp32, and d·Σq, the term the weights' offsets
/// multiply (ggml's q8_1 `s`) — for types whose 16-weight halves have their own offsets, also
/// d·Σq over each half (ggml's q8_K `bsums`); and Σq as an integer, which the AVX-512 VNNI tiles
/// of signed weights subtract. Allocated once per `MatVec` and grown to the largest
/// batch seen: nothing is allocated per call. A MatVec (and so its buffer) serves one caller at a
/// time.
final class ActivationBuffer: @unchecked Sendable {
    static let blockSize = 32
    /// Scales and sums are read eight blocks at a time; the last vector's reads stay inside.
    static let padding = 8

    private(set) var quants = UnsafeMutablePointer<Int8>.allocate(capacity: 0)
    private(set) var scales = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private(set) var sums = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private(set) var lowSums = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private(set) var highSums = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private(set) var integerSums = UnsafeMutablePointer<Int32>.allocate(capacity: 0)
    private var capacity = 0   // blocks

    deinit {
        quants.deallocate()
        for p in [scales, sums, lowSums, highSums] { p.deallocate() }
        integerSums.deallocate()
    }

    /// Quantizes `count` vectors of `cols` (a multiple of 32) values, vector t at `x + t·cols`,
    /// and returns the view the kernels read; with `halves`, also the sums of each block's halves.
    func quantize(_ x: UnsafePointer<Float>, count: Int, cols: Int, halves: Bool = false, pool: ThreadPool) -> QuantizedActivations {
        let perVector = cols / Self.blockSize
        reserve(count * perVector)
        let quants = quants, scales = scales, sums = sums, lowSums = lowSums, highSums = highSums, integerSums = integerSums
        // A block is a few nanoseconds of work; split only batches.
        pool.parallelFor(count * perVector, grain: 4096) { blocks in
            for b in blocks { Self.quantizeBlock(x + 32 * b, quants + 32 * b, &scales[b], &sums[b], &integerSums[b]) }
            if halves {
                for b in blocks {
                    let q = UnsafeRawPointer(quants + 32 * b)
                    lowSums[b] = scales[b] * Float(SIMD16<Int16>(truncatingIfNeeded: q.load(as: SIMD16<Int8>.self)).wrappedSum())
                    highSums[b] = scales[b] * Float(SIMD16<Int16>(truncatingIfNeeded: q.load(fromByteOffset: 16, as: SIMD16<Int8>.self)).wrappedSum())
                }
            }
        }
        return QuantizedActivations(quants: quants, scales: scales, sums: sums, lowSums: lowSums, highSums: highSums,
                                    integerSums: integerSums, blocksPerVector: perVector)
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        quants.deallocate()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: needed * Self.blockSize, alignment: 64)
        quants = raw.bindMemory(to: Int8.self, capacity: needed * Self.blockSize)
        func floats() -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: needed + Self.padding)
            (p + needed).initialize(repeating: 0, count: Self.padding)
            return p
        }
        for p in [scales, sums, lowSums, highSums] { p.deallocate() }
        (scales, sums, lowSums, highSums) = (floats(), floats(), floats(), floats())
        integerSums.deallocate()
        integerSums = .allocate(capacity: needed)
        capacity = needed
    }
}

/// Quantized input vectors as the kernels read them: vector v's block b has 32 int8 quants,
/// an fp32 scale and d·Σq and Σq (and, when asked for, d·Σq over quants 0..<16 and 16..<32).
struct QuantizedActivations: @unchecked Sendable {
    let quants: UnsafePointer<Int8>
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Float>
    let lowSums: UnsafePointer<Float>
    let highSums: UnsafePointer<Float>
    let integerSums: UnsafePointer<Int32>
    let blocksPerVector: Int
}
