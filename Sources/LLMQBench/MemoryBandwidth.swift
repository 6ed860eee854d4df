import LLMQEngine

/// The machine's streaming read bandwidth: a buffer far larger than the caches read front to back
/// with 32-byte loads, split across threads as the kernels split their weights. Decoding reads
/// every weight once per token, so this is the ceiling its tokens/s are measured against.
public enum MemoryBandwidth {
    /// Bytes per second reading `bytes` (rounded down to 128) with each thread count of `threads`,
    /// on the same buffer.
    public static func measure(bytes: Int, threads: [Int], plan: RunPlan) -> [Int: Rate] {
        let size = max(128, bytes / 128 * 128)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
        defer { buffer.deallocate() }
        // Touch every page (and give it distinct contents) before timing.
        let words = buffer.bindMemory(to: UInt64.self, capacity: size / 8)
        for i in 0..<size / 8 { words[i] = UInt64(truncatingIfNeeded: i) &* 0x9E37_79B9_7F4A_7C15 }
        var rates: [Int: Rate] = [:]
        for n in threads {
            let pool = ThreadPool(threads: n)
            let samples = plan.measure {
                read(UnsafeRawPointer(buffer), size, pool: pool)
            }
            rates[n] = Rate(Double(size), per: samples)
        }
        return rates
    }

    /// Reads `size` bytes (a multiple of 128) in as many contiguous parts as the pool has threads.
    static func read(_ base: UnsafeRawPointer, _ size: Int, pool: ThreadPool) {
        let lines = size / 128, parts = pool.threads
        let sums = UnsafeMutablePointer<UInt32>.allocate(capacity: parts)
        defer { sums.deallocate() }
        sums.initialize(repeating: 0, count: parts)
        pool.parallelFor(parts, grain: 1) { range in
            for p in range {
                let first = lines * p / parts
                sums[p] = checksum(base + 128 * first, lines: lines * (p + 1) / parts - first)
            }
        }
        var total: UInt32 = 0
        for i in 0..<parts { total &+= sums[i] }
        sink = total
    }

    /// Four independent chains of 32-byte loads, so the loop waits on memory, not on one adder.
    @inline(never)
    static func checksum(_ p: UnsafeRawPointer, lines: Int) -> UInt32 {
        typealias V = SIMD8<UInt32>
        var a = V(), b = V(), c = V(), d = V()
        for i in 0..<lines {
            let line = p + 128 * i
            a &+= line.load(as: V.self)
            b &+= line.load(fromByteOffset: 32, as: V.self)
            c &+= line.load(fromByteOffset: 64, as: V.self)
            d &+= line.load(fromByteOffset: 96, as: V.self)
        }
        return ((a &+ b) &+ (c &+ d)).wrappedSum()
    }

    /// Keeps the reads observable so the optimizer cannot drop them.
    nonisolated(unsafe) static var sink: UInt32 = 0
}
