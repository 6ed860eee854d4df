/// Where the fields of one ggml-style block sit, as byte offsets from the block's start. The
/// reference codecs and the engine's integer kernels both read these constants, so a layout is
/// stated once (`formats/blocks.md` draws it). Inlinable, so that in the kernels' module they are
/// compile-time constants the vectorizer can use.
@frozen
public struct BlockLayout: Sendable {
    /// fp16 scale `d`.
    public let scaleOffset: Int
    /// fp16 minimum `m` of asymmetric types (q4_1); nil for symmetric ones.
    public let minOffset: Int?
    /// First byte of the packed quants.
    public let quantsOffset: Int
    public let bitsPerQuant: Int

    @inlinable
    public init(scaleOffset: Int, minOffset: Int?, quantsOffset: Int, bitsPerQuant: Int) {
        self.scaleOffset = scaleOffset
        self.minOffset = minOffset
        self.quantsOffset = quantsOffset
        self.bitsPerQuant = bitsPerQuant
    }

    /// Bytes of a block of `blockSize` elements; equals `DType(kind, blockSize:).blockBytes`.
    @inlinable
    public func blockBytes(_ blockSize: Int) -> Int { quantsOffset + blockSize * bitsPerQuant / 8 }
}

/// Little-endian fp16 fields of a block.
enum Half {
    @inline(__always)
    static func load(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    /// Rounds to nearest even (the hardware conversion), as ggml's GGML_FP32_TO_FP16 and numpy do.
    @inline(__always)
    static func store(_ value: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: Float16(value).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
    }
}

/// 1/d, or 0 where ggml's `d ? 1/d : 0` would divide by zero or overflow (a block under ~1e-37 has
/// d = 0 once stored as fp16 anyway, so its quants do not matter).
@inline(__always)
func reciprocal(_ d: Float) -> Float {
    let r = 1 / d
    return r.isFinite ? r : 0
}

/// `min(15, trunc(v))` for the levels 0...16.5 a block of finite values produces, as ggml's
/// `MIN(15, (int8_t)v)`; a NaN (a q4_1 block whose range overflows fp32) gives 0 rather than
/// undefined behaviour, and `Quantize` then rejects the block's infinite scale.
@inline(__always)
func nibble(_ v: Float) -> UInt8 {
    v >= 15 ? 15 : v >= 0 ? UInt8(v) : 0
}

/// round-half-away-from-zero(v) for the −127...127 a block of finite values produces; NaN (a block
/// holding ±inf, as activations of a model whose weights overflow fp32 do) gives 0 and ±inf the
/// nearest end, rather than a trap or undefined behaviour.
@inline(__always)
func quant8(_ v: Float) -> Int8 {
    v >= 127 ? 127 : v <= -127 ? -127 : v == v ? Int8(v.rounded(.toNearestOrAwayFromZero)) : 0
}

/// Block reductions eight lanes at a time (the scalar loops do not vectorize: a max reduction is a
/// serial dependency for the compiler). Blocks are multiples of 8 elements.
enum BlockScan {
    /// max |x[i]|, +0 for a block of zeros of either sign.
    @inline(__always)
    static func absMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(x)
        var m = SIMD8<Float>()
        for i in stride(from: 0, to: n, by: 8) {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            let a = v.replacing(with: -v, where: v .< 0)
            m.replace(with: a, where: a .> m)
        }
        return horizontalMax(m)
    }

    /// The smallest and largest values, each the first element in block order that attains it
    /// (which matters only for the sign of a zero extreme).
    @inline(__always)
    static func extremes(_ x: UnsafePointer<Float>, _ n: Int) -> (lowest: Float, highest: Float) {
        let raw = UnsafeRawPointer(x)
        var lo = raw.loadUnaligned(as: SIMD8<Float>.self), hi = lo
        for i in stride(from: 8, to: n, by: 8) {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self)
            lo.replace(with: v, where: v .< lo)
            hi.replace(with: v, where: v .> hi)
        }
        var lowest = -horizontalMax(-lo), highest = horizontalMax(hi)
        if lowest == 0 { lowest = firstEqual(x, n, to: lowest) }
        if highest == 0 { highest = firstEqual(x, n, to: highest) }
        return (lowest, highest)
    }

    /// The first element equal to `value` (+0 and −0 compare equal), which must exist.
    @inline(__always)
    static func firstEqual(_ x: UnsafePointer<Float>, _ n: Int, to value: Float) -> Float {
        var i = 0
        while x[i] != value { i += 1 }
        return x[i]
    }

    @inline(__always)
    static func horizontalMax(_ v: SIMD8<Float>) -> Float {
        var four = v.lowHalf
        four.replace(with: v.highHalf, where: v.highHalf .> four)
        var two = four.lowHalf
        two.replace(with: four.highHalf, where: four.highHalf .> two)
        return two[1] > two[0] ? two[1] : two[0]
    }
}

extension BlockLayout {
    /// Calls `body` for each of `count` blocks of `n` values from `x` with the bytes it is encoded into.
    @inline(__always)
    func encode(_ x: UnsafePointer<Float>, count: Int, blockSize n: Int, into out: UnsafeMutableRawPointer,
                _ body: (_ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer) -> Void) {
        let bytes = blockBytes(n)
        for b in 0..<count { body(x + b * n, out + b * bytes) }
    }

    /// As `encode`, also handing `body` the block's importance weights and room for its `n` levels.
    @inline(__always)
    func encodeSearching(_ x: UnsafePointer<Float>, count: Int, blockSize n: Int, importance: UnsafePointer<Float>,
                         into out: UnsafeMutableRawPointer,
                         _ body: (_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ levels: UnsafeMutablePointer<Int32>,
                                  _ block: UnsafeMutableRawPointer) -> Void) {
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { levels in
            encode(x, count: count, blockSize: n, into: out) { xb, block in
                body(xb, importance + (xb - x), levels.baseAddress!, block)
            }
        }
    }

    /// Calls `body` for each of `count` blocks from `src` with the `n` values it decodes into.
    @inline(__always)
    func decode(_ src: UnsafeRawPointer, count: Int, blockSize n: Int, into y: UnsafeMutablePointer<Float>,
                _ body: (_ block: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) -> Void) {
        let bytes = blockBytes(n)
        for b in 0..<count { body(src + b * bytes, y + b * n) }
    }
}

/// Group sizes of the one-scale types llmq generalises beyond ggml's 32 elements per block.
public enum GroupSizes {
    public static let flexible = [32, 64, 128, 256]
}
