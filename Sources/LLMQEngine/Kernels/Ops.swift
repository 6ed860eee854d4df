#if canImport(Glibc)
import Glibc
#endif

/// The element-wise pieces of the Llama block, written as run.c writes them so that fp32 results
/// agree with the reference program.
public enum Ops {
    /// o = weight ⊙ x / sqrt(mean(x²) + eps)
    public static func rmsnorm(_ o: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                               _ n: Int, eps: Float) {
        var ss: Float = 0
        for j in 0..<n { ss += x[j] * x[j] }
        ss /= Float(n)
        ss += eps
        ss = 1 / sqrtf(ss)
        for j in 0..<n { o[j] = weight[j] * (ss * x[j]) }
    }

    /// In-place softmax over `n` values.
    public static func softmax(_ x: UnsafeMutablePointer<Float>, _ n: Int) {
        var maxValue = x[0]
        for i in 1..<max(n, 1) where x[i] > maxValue { maxValue = x[i] }
        var sum: Float = 0
        for i in 0..<n {
            x[i] = expf(x[i] - maxValue)
            sum += x[i]
        }
        for i in 0..<n { x[i] /= sum }
    }

    /// SwiGLU gate: hb = silu(hb) ⊙ hb2.
    public static func swiglu(_ hb: UnsafeMutablePointer<Float>, _ hb2: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n {
            var v = hb[i]
            v *= 1 / (1 + expf(-v))
            hb[i] = v * hb2[i]
        }
    }

    public static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n { x[i] += y[i] }
    }

    /// Index of the largest value (the first on ties).
    public static func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int {
        var best = 0
        for i in 1..<max(n, 1) where x[i] > x[best] { best = i }
        return best
    }
}

/// Rotary position embedding on interleaved pairs (x[2i], x[2i+1]), as llama2.c and GGUF's
/// `llama` architecture store Q and K (Q and K computed from a Hugging Face checkpoint's rows as
/// stored arrive in halves and are interleaved here). sin/cos are tabulated once for every position of the
/// context, so a batch of positions rotates in parallel and every path gets identical values.
public struct Rope: Sendable {
    public let headDim: Int
    private let cosines: [Float]    // (position, headDim / 2)
    private let sines: [Float]      // (position, headDim / 2)

    public init(headDim: Int, theta: Float, positions: Int) {
        self.headDim = headDim
        let half = headDim / 2
        let frequencies = (0..<half).map { 1 / powf(theta, Float(2 * $0) / Float(headDim)) }
        var cosines = [Float](repeating: 1, count: positions * half)
        var sines = [Float](repeating: 0, count: positions * half)
        for pos in 0..<positions {
            for i in 0..<half {
                let angle = Float(pos) * frequencies[i]
                cosines[pos * half + i] = cosf(angle)
                sines[pos * half + i] = sinf(angle)
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates `heads` consecutive heads of `headDim` values at `x` for position `position`. With
    /// `rotateHalf` the heads arrive in Hugging Face's order, pair i at (x[i], x[i + headDim/2]),
    /// and leave interleaved: the same products in the same order as canonical rows give, so the
    /// cache and everything after it are bit for bit what a permuted copy of the weights yields.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int, rotateHalf: Bool = false) {
        let half = headDim / 2
        cosines.withUnsafeBufferPointer { cosAll in
            sines.withUnsafeBufferPointer { sinAll in
                let c = cosAll.baseAddress! + position * half, s = sinAll.baseAddress! + position * half
                withUnsafeTemporaryAllocation(of: Float.self, capacity: rotateHalf ? headDim : 0) { halves in
                    for h in 0..<heads {
                        let v = x + h * headDim
                        if rotateHalf {
                            halves.baseAddress!.update(from: v, count: headDim)
                            for i in 0..<half {
                                let v0 = halves[i], v1 = halves[half + i]
                                v[2 * i] = v0 * c[i] - v1 * s[i]
                                v[2 * i + 1] = v0 * s[i] + v1 * c[i]
                            }
                        } else {
                            for i in 0..<half {
                                let v0 = v[2 * i], v1 = v[2 * i + 1]
                                v[2 * i] = v0 * c[i] - v1 * s[i]
                                v[2 * i + 1] = v0 * s[i] + v1 * c[i]
                            }
                        }
                    }
                }
            }
        }
    }
}
