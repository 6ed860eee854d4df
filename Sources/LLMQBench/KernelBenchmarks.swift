import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant

/// The engine's kernels on their own, on random weights of one matrix shape: matrix–vector
/// products with the weights in cache (the kernel's compute ceiling) and streamed from memory
/// (what decoding sees), and matrix–matrix products over a batch of positions (prefill).
public struct KernelBenchmarks {
    public let matvec: MatVec
    public let rows: Int
    public let cols: Int
    public let plan: RunPlan

    public init(rows: Int, cols: Int, pool: ThreadPool, plan: RunPlan) {
        matvec = MatVec(pool: pool)
        self.rows = rows
        self.cols = cols
        self.plan = plan
    }

    /// y = W·x with one `rows × cols` matrix, repeated until a run takes about a millisecond.
    public func matvecInCache(_ dtype: DType) throws -> Throughput {
        let matrix = try Self.randomMatrix(dtype, rows: rows, cols: cols, copies: 1)
        defer { matrix.data.deallocate() }
        let w = WeightMatrix(rows: rows, cols: cols, dtype: dtype, data: matrix.data)
        let x = Self.randomVector(cols), y = UnsafeMutablePointer<Float>.allocate(capacity: rows)
        defer { x.deallocate(); y.deallocate() }
        let calls = max(1, 1_000_000 / max(matrix.bytes, 1))
        let samples = plan.measure {
            for _ in 0..<calls { matvec(w, x, y) }
        }
        return Throughput(samples: samples, items: Double(calls), bytes: Double(calls * matrix.bytes),
                          flops: Double(calls * 2 * rows * cols))
    }

    /// y = W·x with W `copies` stacked copies of a `rows × cols` matrix (at least `bytes` of
    /// weights), so every run streams them from memory as a decode step does.
    public func matvecStreaming(_ dtype: DType, bytes: Int) throws -> Throughput {
        let one = dtype.byteCount(shape: [rows, cols]) ?? 1
        let copies = max(1, (bytes + one - 1) / one)
        let matrix = try Self.randomMatrix(dtype, rows: rows, cols: cols, copies: copies)
        defer { matrix.data.deallocate() }
        let w = WeightMatrix(rows: rows * copies, cols: cols, dtype: dtype, data: matrix.data)
        let x = Self.randomVector(cols), y = UnsafeMutablePointer<Float>.allocate(capacity: rows * copies)
        defer { x.deallocate(); y.deallocate() }
        let samples = plan.measure { matvec(w, x, y) }
        return Throughput(samples: samples, items: 1, bytes: Double(matrix.bytes), flops: Double(2 * rows * copies * cols))
    }

    /// Y = X·Wᵀ for `count` positions at once.
    public func batched(_ dtype: DType, count: Int) throws -> Throughput {
        let matrix = try Self.randomMatrix(dtype, rows: rows, cols: cols, copies: 1)
        defer { matrix.data.deallocate() }
        let w = WeightMatrix(rows: rows, cols: cols, dtype: dtype, data: matrix.data)
        let x = Self.randomVector(count * cols), y = UnsafeMutablePointer<Float>.allocate(capacity: count * rows)
        defer { x.deallocate(); y.deallocate() }
        let samples = plan.measure { matvec.batched(w, x, count: count, y) }
        return Throughput(samples: samples, items: Double(count), bytes: nil, flops: Double(2 * rows * cols * count))
    }

    /// `copies` back-to-back copies of one random matrix encoded as `dtype` (weights ~ N(0, 0.02²)
    /// as a trained model's), 64-byte aligned; the caller deallocates `data`.
    static func randomMatrix(_ dtype: DType, rows: Int, cols: Int, copies: Int) throws -> (data: UnsafeMutableRawPointer, bytes: Int) {
        var rng = SplitMix64(seed: 7)
        let values = (0..<rows * cols).map { _ in 0.02 * rng.normal() }
        let encoded = try Quantize.tensor(values, shape: [rows, cols], as: dtype)
        let data = UnsafeMutableRawPointer.allocate(byteCount: encoded.count * copies, alignment: 64)
        encoded.withUnsafeBytes { one in
            for c in 0..<copies { (data + c * one.count).copyMemory(from: one.baseAddress!, byteCount: one.count) }
        }
        return (data, encoded.count * copies)
    }

    static func randomVector(_ count: Int) -> UnsafeMutablePointer<Float> {
        var rng = SplitMix64(seed: 11)
        let x = UnsafeMutablePointer<Float>.allocate(capacity: count)
        for i in 0..<count { x[i] = 2 * rng.uniform() - 1 }
        return x
    }
}
