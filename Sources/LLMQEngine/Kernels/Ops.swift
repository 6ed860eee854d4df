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
/// `llama` architecture store Q and K, or on halves (x[i], x[i + headDim/2]) for Q and K computed
/// from a Hugging Face checkpoint's rows as stored. sin/cos are tabulated once for every position of the
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

    /// Rotates `heads` consecutive heads of `headDim` values at `x` for position `position`; with
    /// `rotateHalf`, each head holds its pairs as (x[i], x[i + headDim/2]) (Hugging Face's order).
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int, rotateHalf: Bool = false) {
        let half = headDim / 2
        // Pair i's members: at 2i and 2i+1, or at i and i+half.
        let first = rotateHalf ? 1 : 2, second = rotateHalf ? half : 1
        cosines.withUnsafeBufferPointer { cosAll in
            sines.withUnsafeBufferPointer { sinAll in
                let c = cosAll.baseAddress! + position * half, s = sinAll.baseAddress! + position * half
                for h in 0..<heads {
                    let v = x + h * headDim
                    for i in 0..<half {
                        let a = first * i, b = first * i + second
                        let v0 = v[a], v1 = v[b]
                        v[a] = v0 * c[i] - v1 * s[i]
                        v[b] = v0 * s[i] + v1 * c[i]
                    }
                }
            }
        }
    }
}
