extension SymmetricBlockType {
    public static func rounder(groupSize: Int) -> SymmetricRounder<Self> { SymmetricRounder(groupSize: groupSize) }
}

/// Error-feedback rounding of a one-scale type: the block's scale is the weighted scale search's
/// over its current values; each element is rounded to the nearest level of it.
public struct SymmetricRounder<T: SymmetricBlockType>: BlockRounder {
    private var levels: [Int32]
    private var scale: Float = 0, inverse: Float = 0

    init(groupSize: Int) { levels = [Int32](repeating: 0, count: groupSize) }

    public mutating func begin(_ x: UnsafePointer<Float>, importance w: UnsafePointer<Float>) {
        let (lowest, highest) = (T.levels.lowerBound, T.levels.upperBound)
        scale = levels.withUnsafeMutableBufferPointer {
            ScaleSearch.symmetric(x, w, $0.count, lowest: lowest, highest: highest, levels: $0.baseAddress!)
        }
        inverse = scale != 0 ? 1 / scale : 0
    }

    public mutating func round(_ x: UnsafePointer<Float>, at i: Int) -> Float {
        let r = (x[i] * inverse).rounded()
        let l = r >= Float(T.levels.upperBound) ? T.levels.upperBound : r >= Float(T.levels.lowerBound) ? Int32(r) : T.levels.lowerBound
        levels[i] = l
        return scale * Float(l)
    }

    public func store(into block: UnsafeMutableRawPointer) {
        levels.withUnsafeBufferPointer { T.store(scale: scale, levels: $0.baseAddress!, groupSize: $0.count, into: block) }
    }
}

/// Error-feedback rounding of a `SubBlockScaledType`: at the block's start its importance encoder
/// picks d, dmin and every sub-block's scale and minimum from the current values; at each
/// sub-block's start the scale and minimum are re-fitted, d and dmin fixed, to the values the
/// feedback has moved since (the pair within ±2 steps of the current one with the least weighted
/// squared error over the sub-block); then each element takes the level nearest its value.
public struct SubBlockRounder<T: SubBlockScaledType>: BlockRounder {
    private let subBlock: Int
    private var p: SubBlockParameters
    private var levels: [Int32]
    private var weights: [Float]
    private var scratch: [UInt8]
    /// The current sub-block's d·scale and dmin·min.
    private var dl: Float = 0, ml: Float = 0

    init(groupSize: Int) {
        subBlock = T.subBlockSize(groupSize: groupSize)
        p = SubBlockParameters(subBlocks: groupSize / subBlock)
        levels = [Int32](repeating: 0, count: groupSize)
        weights = [Float](repeating: 0, count: groupSize)
        scratch = [UInt8](repeating: 0, count: T.blockBytes(groupSize: groupSize))
    }

    public mutating func begin(_ x: UnsafePointer<Float>, importance w: UnsafePointer<Float>) {
        let n = levels.count
        weights.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: w, count: n) }
        scratch.withUnsafeMutableBytes { block in
            T.encodeBlocks(x, count: 1, groupSize: n, importance: w, into: block.baseAddress!)
            T.parameters(of: UnsafeRawPointer(block.baseAddress!), groupSize: n, into: &p)
        }
    }

    public mutating func round(_ x: UnsafePointer<Float>, at i: Int) -> Float {
        if i % subBlock == 0 { refit(x, i / subBlock) }
        let q = T.nearestLevel((x[i] + ml) / dl)
        levels[i] = q
        return dl * T.value(ofLevel: q) - ml
    }

    public func store(into block: UnsafeMutableRawPointer) {
        levels.withUnsafeBufferPointer { T.store(p, levels: $0.baseAddress!, groupSize: $0.count, into: block) }
    }

    /// Re-fits every sub-block's scale and minimum of the encoded `block` to `x` (d and dmin as
    /// stored) and re-rounds the levels to the stored parameters: the importance encoders' last
    /// step, which never raises the weighted error (the stored pair is among those tried, and the
    /// nearest level is the best one for any pair).
    mutating func polish(_ x: UnsafePointer<Float>, importance w: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer) {
        let n = levels.count
        weights.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: w, count: n) }
        T.parameters(of: UnsafeRawPointer(block), groupSize: n, into: &p)
        for i in 0..<n { _ = round(x, at: i) }
        store(into: block)
    }

    private mutating func refit(_ x: UnsafePointer<Float>, _ j: Int) {
        let range = j * subBlock..<(j + 1) * subBlock
        let (d, dmin, current) = (p.d, p.dmin, (p.scales[j], p.mins[j]))
        let best = weights.withUnsafeBufferPointer { w -> (Int32, Int32) in
            func error(_ sc: Int32, _ m: Int32) -> Float {
                let dl = d * Float(sc), ml = dmin * Float(m)
                var e: Float = 0
                for k in range {
                    let diff = x[k] - (dl * T.value(ofLevel: T.nearestLevel((x[k] + ml) / dl)) - ml)
                    e += w[k] * diff * diff
                }
                return e
            }
            func window(_ c: Int32, _ r: ClosedRange<Int32>) -> ClosedRange<Int32> { max(r.lowerBound, c - 2)...min(r.upperBound, c + 2) }
            var best = current, bestError = error(current.0, current.1)
            for sc in window(current.0, T.scaleRange) {
                for m in window(current.1, T.minRange) where (sc, m) != current {
                    let e = error(sc, m)
                    if e < bestError { (best, bestError) = ((sc, m), e) }
                }
            }
            return best
        }
        (p.scales[j], p.mins[j]) = best
        dl = d * Float(best.0)
        ml = dmin * Float(best.1)
    }
}
