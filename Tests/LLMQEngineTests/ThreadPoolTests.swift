import LLMQEngine
import Testing

@Suite("ThreadPool")
struct ThreadPoolTests {
    @Test("every index is visited exactly once, across many back-to-back jobs", arguments: [1, 2, 3, 4])
    func coverage(threads: Int) {
        let pool = ThreadPool(threads: threads)
        let n = 1000
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer { hits.deallocate() }
        for round in 0..<2000 {
            hits.initialize(repeating: 0, count: n)
            let count = 1 + round % n
            pool.parallelFor(count) { range in
                for i in range { hits[i] += 1 }
            }
            #expect((0..<count).allSatisfy { hits[$0] == 1 })
            #expect((count..<n).allSatisfy { hits[$0] == 0 })
        }
    }

    @Test("jobs issued after workers fell asleep still complete; pools shut down cleanly")
    func sleepAndWake() async throws {
        for _ in 0..<3 {
            let pool = ThreadPool(threads: 2)
            var total = 0
            for _ in 0..<3 {
                try await Task.sleep(for: .milliseconds(30))
                let seen = UnsafeMutablePointer<Int>.allocate(capacity: 100)
                seen.initialize(repeating: 0, count: 100)
                pool.parallelFor(100) { range in for i in range { seen[i] += i } }
                total += (0..<100).reduce(0) { $0 + seen[$1] }
                seen.deallocate()
            }
            #expect(total == 3 * 4950)
        }
    }

    @Test("small loops below the grain run inline on the caller")
    func grain() {
        let pool = ThreadPool(threads: 2)
        var calls = 0
        pool.parallelFor(10, grain: 100) { _ in calls += 1 }
        #expect(calls == 1)
    }
}
