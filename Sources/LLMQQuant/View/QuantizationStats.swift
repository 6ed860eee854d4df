#if canImport(Glibc)
import Glibc
#endif
import LLMQCore

/// How far one quantized tensor moved from its source: measured on every element while encoding.
public struct TensorError: Codable, Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var elementCount: Int
    /// sqrt(mean((x − x̂)²)).
    public var rmse: Double
    /// 10·log10(Σx² / Σ(x − x̂)²); nil when the error is zero.
    public var snrDB: Double?
    public var maxAbsError: Double

    public init(name: String, dtype: DType, elementCount: Int, rmse: Double, snrDB: Double?, maxAbsError: Double) {
        self.name = name
        self.dtype = dtype
        self.elementCount = elementCount
        self.rmse = rmse
        self.snrDB = snrDB
        self.maxAbsError = maxAbsError
    }

    enum CodingKeys: String, CodingKey {
        case name, dtype, rmse
        case elementCount = "elements"
        case snrDB = "snr_db"
        case maxAbsError = "max_abs_error"
    }
}

/// Collects a `TensorError` per tensor as a quantized view encodes them (from any thread), for the
/// summary a quantize command prints. Passed-through tensors have no entry: they are exact.
public final class QuantizationStats: Sendable {
    private let records = Locked<[TensorError]>([])

    public init() {}

    /// In the order the tensors were encoded; a tensor encoded twice keeps its latest record.
    public var all: [TensorError] { records.withLock { $0 } }

    public subscript(name: String) -> TensorError? {
        records.withLock { list in list.first { $0.name == name } }
    }

    func record(_ error: TensorError) {
        records.withLock { list in
            list.removeAll { $0.name == error.name }
            list.append(error)
        }
    }
}

/// Sums of one stretch of a tensor, merged across threads.
struct ErrorSums {
    var signal: Double = 0
    var error: Double = 0
    var maxAbs: Float = 0

    mutating func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
        var s = SIMD8<Float>(), e = SIMD8<Float>(), m = SIMD8<Float>()
        let xr = UnsafeRawPointer(x), yr = UnsafeRawPointer(y)
        var i = 0
        while i + 8 <= n {
            let a = xr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let d = a - yr.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            s.addProduct(a, a)
            e.addProduct(d, d)
            let magnitude = d.replacing(with: -d, where: d .< 0)
            m.replace(with: magnitude, where: magnitude .> m)
            i += 8
        }
        var signalTail: Float = 0, errorTail: Float = 0
        while i < n {
            let d = x[i] - y[i]
            signalTail += x[i] * x[i]
            errorTail += d * d
            maxAbs = max(maxAbs, abs(d))
            i += 1
        }
        signal += Double(s.sum() + signalTail)
        error += Double(e.sum() + errorTail)
        maxAbs = max(maxAbs, m.max())
    }

    mutating func merge(_ other: ErrorSums) {
        signal += other.signal
        error += other.error
        maxAbs = max(maxAbs, other.maxAbs)
    }

    func result(name: String, dtype: DType, count: Int) -> TensorError {
        TensorError(name: name, dtype: dtype, elementCount: count, rmse: (error / Double(max(count, 1))).squareRoot(),
                    snrDB: error > 0 ? 10 * log10(signal / error) : nil, maxAbsError: Double(maxAbs))
    }
}
