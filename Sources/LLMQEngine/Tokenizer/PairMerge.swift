/// The merge loop shared by the SentencePiece and byte-level BPE tokenizers: repeatedly replace
/// the best adjacent pair of symbols by its merge, best priority first and leftmost on ties.
///
/// A naive loop rescans every pair after each merge (quadratic); here a heap of candidate pairs
/// with lazy invalidation picks the same pair in O(n log n).
enum PairMerge {
    /// - Parameter candidate: for a left and right token, the merged token and its priority
    ///   (higher merges first), or nil when the pair does not merge.
    static func merge(_ symbols: [Int], _ candidate: (_ left: Int, _ right: Int) -> (priority: Float, merged: Int)?) -> [Int] {
        let n = symbols.count
        guard n > 1 else { return symbols }
        var token = symbols
        var next = Array(1...n)              // n marks the end
        var prev = Array(-1..<(n - 1))
        var alive = [Bool](repeating: true, count: n)
        var heap = PairHeap()
        func consider(_ left: Int) {
            let right = next[left]
            guard right < n, let c = candidate(token[left], token[right]) else { return }
            heap.push(.init(score: c.priority, left: left, leftToken: token[left], rightToken: token[right], merged: c.merged))
        }
        for i in 0..<(n - 1) { consider(i) }
        while let best = heap.pop() {
            let l = best.left
            let r = next[l]
            // Skip candidates made stale by an earlier merge on either side.
            guard alive[l], r < n, token[l] == best.leftToken, token[r] == best.rightToken else { continue }
            token[l] = best.merged
            alive[r] = false
            next[l] = next[r]
            if next[r] < n { prev[next[r]] = l }
            if prev[l] >= 0 { consider(prev[l]) }
            consider(l)
        }
        var out: [Int] = []
        var i = 0
        while i < n { out.append(token[i]); i = next[i] }
        return out
    }
}

/// A max-heap of merge candidates ordered by score, then by leftmost position.
struct PairHeap {
    struct Candidate {
        let score: Float
        let left: Int
        let leftToken: Int
        let rightToken: Int
        let merged: Int

        func isBetter(than o: Candidate) -> Bool {
            score != o.score ? score > o.score : left < o.left
        }
    }

    private var items: [Candidate] = []

    mutating func push(_ c: Candidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].isBetter(than: items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard !items.isEmpty else { return nil }
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < items.count, items[l].isBetter(than: items[best]) { best = l }
                if r < items.count, items[r].isBetter(than: items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
