/// Importance encoding by competition: every candidate encoder (the reference rounding first, then
/// searches) encodes a block, and the bytes whose decoding has the least Σ w·(x − x̂)² are kept —
/// so the weighted error is never above any candidate's, the reference's included, block by block.
/// The winner's sub-block scales are then re-fitted to the block (`SubBlockRounder.polish`).
enum BestOf {
    typealias Candidate = (_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer) -> Void

    static func encode<T: SubBlockScaledType>(_ type: T.Type, _ x: UnsafePointer<Float>, count: Int, groupSize n: Int,
                                         importance: UnsafePointer<Float>, into out: UnsafeMutableRawPointer,
                                         _ candidates: [Candidate]) {
        let bytes = T.blockBytes(groupSize: n)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bytes) { trial in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: n) { decoded in
                let trial = UnsafeMutableRawPointer(trial.baseAddress!), y = decoded.baseAddress!
                var rounder = SubBlockRounder<T>(groupSize: n)
                func error(_ xb: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ block: UnsafeRawPointer) -> Double {
                    T.decodeBlocks(block, count: 1, groupSize: n, into: y)
                    var e = 0.0
                    for i in 0..<n {
                        let diff = Double(xb[i]) - Double(y[i])
                        e += Double(w[i]) * diff * diff
                    }
                    return e
                }
                for b in 0..<count {
                    let xb = x + b * n, w = importance + b * n, block = out + b * bytes
                    candidates[0](xb, w, block)
                    var best = error(xb, w, block)
                    for candidate in candidates.dropFirst() {
                        candidate(xb, w, trial)
                        let e = error(xb, w, trial)
                        if e < best {
                            best = e
                            block.copyMemory(from: trial, byteCount: bytes)
                        }
                    }
                    trial.copyMemory(from: block, byteCount: bytes)
                    rounder.polish(xb, importance: w, trial)
                    if error(xb, w, trial) < best { block.copyMemory(from: trial, byteCount: bytes) }
                }
            }
        }
    }
}
