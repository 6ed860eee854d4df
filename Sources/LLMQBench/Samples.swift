#if canImport(Glibc)
import Glibc
#endif

/// What a benchmark's seconds are.
public enum BenchClock: String, Sendable, Codable {
    /// Elapsed time: what a user waits, but it stretches when other work shares the cores.
    case wall
    /// CPU time of the whole process, every thread (waiting workers spin, so they count): with one
    /// thread, the time the work really ran even on a busy machine.
    case cpu

    func now() -> Double {
        var t = timespec()
        clock_gettime(self == .wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }
}

/// How each figure is taken: untimed warm-up runs, then timed repetitions on one clock.
public struct RunPlan: Sendable {
    public var warmups: Int
    public var repetitions: Int
    public var clock: BenchClock

    public init(warmups: Int = 1, repetitions: Int = 5, clock: BenchClock = .wall) {
        self.warmups = warmups
        self.repetitions = repetitions
        self.clock = clock
    }

    public func measure(_ body: () throws -> Void) rethrows -> Samples {
        try Samples.measure(warmups: warmups, repetitions: repetitions, clock: clock, body)
    }
}

/// Timings of repeated runs of one piece of work, after warm-up runs that are not kept.
public struct Samples: Sendable, Codable {
    /// Seconds per run, in the order they ran.
    public var seconds: [Double]

    public init(seconds: [Double]) { self.seconds = seconds }

    /// Times `body` `warmups + repetitions` times and keeps the last `repetitions`.
    public static func measure(warmups: Int, repetitions: Int, clock: BenchClock = .wall, _ body: () throws -> Void) rethrows -> Samples {
        for _ in 0..<warmups { try body() }
        var seconds: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let start = clock.now()
            try body()
            seconds.append(clock.now() - start)
        }
        return Samples(seconds: seconds)
    }

    public var median: Double {
        let s = seconds.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    public var fastest: Double { seconds.min() ?? 0 }
    public var slowest: Double { seconds.max() ?? 0 }
}

/// A rate (work per second) over repeated runs: the median run and the spread.
public struct Rate: Sendable, Codable, Equatable {
    public var median: Double
    public var min: Double
    public var max: Double

    public init(median: Double, min: Double, max: Double) {
        self.median = median
        self.min = min
        self.max = max
    }

    /// `work` units done in each run of `samples`.
    public init(_ work: Double, per samples: Samples) {
        self.init(median: work / samples.median, min: work / samples.slowest, max: work / samples.fastest)
    }

    public func scaled(by factor: Double) -> Rate { Rate(median: median * factor, min: min * factor, max: max * factor) }
}
