import LLMQCore
import LLMQQuant

/// Input vectors quantized for the integer kernels, as ggml quantizes activations for its q8_0
/// and q4_0 dot products: blocks of 32 made by the reference q8_0 codec (fp16 scale d, int8
/// quants). The kernels read them unpacked: all quants contiguous and 64-byte aligned (aligned
/// loads run ~30% faster than q8_0's 34-byte stride), d as fp32, and d·Σq, the term q4_1's
/// minimum multiplies (ggml's q8_1 `s`). Allocated once per `MatVec` and grown to the largest
/// batch seen: nothing is allocated per call. A MatVec (and so its buffer) serves one caller at
/// a time.
final class ActivationBuffer: @unchecked Sendable {
    static let blockSize = 32

    private var packed = UnsafeMutableRawPointer.allocate(byteCount: 0, alignment: 64)   // q8_0 blocks
    private(set) var quants = UnsafeMutablePointer<Int8>.allocate(capacity: 0)
    private(set) var scales = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private(set) var sums = UnsafeMutablePointer<Float>.allocate(capacity: 0)
    private var capacity = 0   // blocks

    deinit {
        packed.deallocate()
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
    }

    /// Quantizes `count` vectors of `cols` (a multiple of 32) values, vector t at `x + t·cols`.
    func quantize(_ x: UnsafePointer<Float>, count: Int, cols: Int, pool: ThreadPool) {
        let perVector = cols / Self.blockSize
        reserve(count * perVector)
        let codec = Q8_0Codec(), blockBytes = DType.q8_0.blockBytes
        let packed = packed, quants = quants, scales = scales, sums = sums
        // A vector is a few microseconds of work; split only batches.
        pool.parallelFor(count, grain: max(1, 16384 / max(cols, 1))) { vectors in
            for t in vectors {
                let first = t * perVector
                let blocks = packed + first * blockBytes
                codec.quantize(UnsafeBufferPointer(start: x + t * cols, count: cols),
                               into: UnsafeMutableRawBufferPointer(start: blocks, count: perVector * blockBytes),
                               blockSize: Self.blockSize, importance: nil)
                for b in 0..<perVector {
                    let block = blocks + b * blockBytes
                    let d = Float(Float16(bitPattern: UInt16(littleEndian: block.loadUnaligned(as: UInt16.self))))
                    let q = quants + (first + b) * Self.blockSize
                    q.update(from: (block + 2).assumingMemoryBound(to: Int8.self), count: Self.blockSize)
                    var total: Int32 = 0
                    for i in 0..<Self.blockSize { total &+= Int32(q[i]) }
                    scales[first + b] = d
                    sums[first + b] = d * Float(total)
                }
            }
        }
    }

    /// The view of vector `t` the kernels read.
    func vector(_ t: Int, cols: Int) -> QuantizedActivation {
        let first = t * (cols / Self.blockSize)
        return QuantizedActivation(quants: quants + first * Self.blockSize, scales: scales + first, sums: sums + first,
                                   count: cols / Self.blockSize)
    }

    private func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        packed.deallocate()
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
        packed = .allocate(byteCount: needed * DType.q8_0.blockBytes, alignment: 64)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: needed * Self.blockSize, alignment: 64)
        quants = raw.bindMemory(to: Int8.self, capacity: needed * Self.blockSize)
        scales = .allocate(capacity: needed)
        sums = .allocate(capacity: needed)
        capacity = needed
    }
}

/// One quantized input vector: `count` blocks of 32 int8 quants, their fp32 scales and d·Σq.
struct QuantizedActivation: @unchecked Sendable {
    let quants: UnsafePointer<Int8>
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Float>
    let count: Int

    /// The 32 quants of block `b`.
    @inline(__always)
    func quants(_ b: Int) -> UnsafePointer<Int8> { quants + 32 * b }
}
