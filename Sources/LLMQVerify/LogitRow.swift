#if canImport(Glibc)
import Glibc
#endif
import LLMQCore

/// One position's logits (vocab values) with its log-sum-exp, so log-probabilities are
/// `logit − logSumExp` without ever forming probabilities that could underflow. The sum runs
/// from the largest logit (no overflow) and accumulates in Double.
struct LogitRow {
    let values: UnsafePointer<Float>
    let count: Int
    let logSumExp: Double

    init(_ values: UnsafePointer<Float>, count: Int) {
        self.values = values
        self.count = count
        logSumExp = LogitRow.logSumExp(values, count, excludingSorted: [])
    }

    func logProb(_ token: Int) -> Double { Double(values[token]) - logSumExp }

    /// log Σ exp(logit) over every token but `excluded` (ascending ids); −∞ when all are excluded.
    /// Subtracting `logSumExp` gives the log of their probability mass without cancellation.
    func logSumExp(excludingSorted excluded: [Int]) -> Double {
        LogitRow.logSumExp(values, count, excludingSorted: excluded)
    }

    private static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int, excludingSorted excluded: [Int]) -> Double {
        var maxValue = -Float.infinity
        forEachIncluded(n, excluded) { i in maxValue = max(maxValue, x[i]) }
        guard maxValue > -Float.infinity else { return -.infinity }
        var sum = 0.0
        forEachIncluded(n, excluded) { i in sum += Double(expf(x[i] - maxValue)) }
        return Double(maxValue) + log(sum)
    }

    /// Calls `body` for 0..<n except the ascending `excluded` ids, walking both in step.
    @inline(__always)
    private static func forEachIncluded(_ n: Int, _ excluded: [Int], _ body: (Int) -> Void) {
        var next = 0
        for i in 0..<n {
            if next < excluded.count, excluded[next] == i { next += 1; continue }
            body(i)
        }
    }

    /// The `k` most likely tokens, most likely first (lower id first on ties, as argmax).
    func top(_ k: Int) -> [Int] {
        let k = min(k, count)
        var ids: [Int] = []
        ids.reserveCapacity(k + 1)
        for i in 0..<count {
            let v = values[i]
            if ids.count == k, v <= values[ids[k - 1]] { continue }
            var at = ids.count
            while at > 0, v > values[ids[at - 1]] { at -= 1 }
            ids.insert(i, at: at)
            if ids.count > k { ids.removeLast() }
        }
        return ids
    }

    /// The fewest most likely tokens (most likely first, lower id first on ties) that leave at most
    /// `tail` of the probability outside, but at least `minimum` and at most `maximum` of them.
    func mostLikely(leaving tail: Double, minimum: Int, maximum: Int) -> [Int] {
        // Tokens less likely than tail / count hold less than `tail` together, so the list never
        // needs them (a factor e lower keeps float rounding from dropping one it does need).
        let floor = tail > 0 ? Float(logSumExp + log(tail / Double(count)) - 1) : -.infinity
        var candidates: [Int] = [], below = 0.0
        for i in 0..<count {
            if values[i] >= floor { candidates.append(i) } else { below += exp(logProb(i)) }
        }
        guard candidates.count >= minimum else { return top(minimum) }
        sortMostLikelyFirst(&candidates)
        // outside[n]: the mass of every token after the first n, summed from the least likely up
        // (no cancellation, unlike 1 − the mass of the first n).
        var outside = [Double](repeating: below, count: candidates.count + 1)
        for n in stride(from: candidates.count - 1, through: 0, by: -1) { outside[n] = outside[n + 1] + exp(logProb(candidates[n])) }
        var n = min(minimum, candidates.count)
        while n < min(maximum, candidates.count), outside[n] > tail { n += 1 }
        return Array(candidates.prefix(n))
    }

    /// `count` tokens outside `kept` (ascending ids), drawn systematically from their distribution:
    /// sorted most likely first, the token under each of the points (j + ½)/count of their mass. A
    /// token holding more than 1/count of that mass appears more than once.
    func tailSamples(excludingSorted kept: [Int], count samples: Int) -> [Int] {
        guard samples > 0 else { return [] }
        let tailLogMass = logSumExp(excludingSorted: kept) - logSumExp
        guard tailLogMass > -.infinity else { return [] }
        // Below the last point lies 1/(2·samples) of the tail's mass: tokens less likely than that
        // over the vocabulary size are never drawn.
        let floor = Float(logSumExp + tailLogMass - log(2 * Double(samples) * Double(count)) - 1)
        var tail: [Int] = []
        LogitRow.forEachIncluded(count, kept) { i in if values[i] >= floor { tail.append(i) } }
        sortMostLikelyFirst(&tail)
        let mass = exp(tailLogMass)
        var drawn: [Int] = [], covered = 0.0
        drawn.reserveCapacity(samples)
        for id in tail {
            covered += exp(logProb(id))
            while drawn.count < samples, (Double(drawn.count) + 0.5) / Double(samples) * mass <= covered { drawn.append(id) }
            if drawn.count == samples { break }
        }
        // Rounding can leave the last points just beyond the summed mass.
        while drawn.count < samples, let last = tail.last { drawn.append(last) }
        return drawn
    }

    /// The largest Σ pᵢ·(log pᵢ − log qᵢ) over the tokens outside `kept` (ascending ids), q this
    /// row's probabilities, for any pᵢ ≤ `cap` that sum to `mass`: the most a reference's unlisted
    /// tokens could add to the divergence. The sum is convex in p, so the maximum lies at a vertex
    /// (`cap` on some tokens, the remainder on one more), and every vertex has the same Σ p·log p:
    /// the maximum puts `cap` on the least likely tokens and the remainder on the next.
    func worstTailDivergence(excludingSorted kept: [Int], mass: Double, cap: Double) -> Double {
        guard mass > 0, cap > 0 else { return 0 }
        var tail: [Float] = []
        tail.reserveCapacity(count - kept.count)
        LogitRow.forEachIncluded(count, kept) { i in tail.append(values[i]) }
        guard !tail.isEmpty else { return 0 }
        let full = mass / cap < Double(tail.count) ? Int(mass / cap) : tail.count
        if full < tail.count { tail.partition(at: full) }
        var sum = 0.0
        for v in tail[..<full] { sum += cap * (log(cap) - (Double(v) - logSumExp)) }
        let rest = mass - Double(full) * cap
        if full < tail.count, rest > 0 { sum += rest * (log(rest) - (Double(tail[full]) - logSumExp)) }
        return sum
    }

    /// Most likely first; lower id first on ties (as `top` and argmax).
    private func sortMostLikelyFirst(_ ids: inout [Int]) {
        ids.sort { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
    }

    /// KL(self ‖ other) = Σ p·(log p − log q) over the whole vocabulary, in Double.
    func divergence(from other: LogitRow) -> Double {
        let shift = logSumExp - other.logSumExp
        var sum = 0.0
        for i in 0..<count {
            // log p − log q = (x − y) − (lseP − lseQ); exactly 0 when the rows are equal.
            let lp = Double(values[i]) - logSumExp
            let diff = (Double(values[i]) - Double(other.values[i])) - shift
            sum += Double(expf(Float(lp))) * diff
        }
        return sum
    }
}

extension Array where Element == Float {
    /// Reorders the array so that `self[k]` is what sorting would put there, nothing after it
    /// smaller and nothing before it larger (C++'s nth_element). Pivots are drawn at random, so the
    /// expected cost is linear whatever the values.
    mutating func partition(at k: Int) {
        var random = SplitMix64(seed: UInt64(count))
        var lo = 0, hi = count - 1
        while lo < hi {
            let pivot = self[lo + Int(random.next() % UInt64(hi - lo + 1))]
            var i = lo, j = hi
            while i <= j {
                while self[i] < pivot { i += 1 }
                while self[j] > pivot { j -= 1 }
                if i <= j {
                    swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }
}
