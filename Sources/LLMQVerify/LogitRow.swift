#if canImport(Glibc)
import Glibc
#endif

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
