import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Splits loops across cores. Work goes out in one contiguous chunk per thread over GCD's
/// persistent workers (no thread creation per call); small loops run inline, because handing
/// off costs microseconds and a 64-row matvec takes less.
public final class ThreadPool: @unchecked Sendable {
    public let threads: Int

    public init(threads: Int? = nil) {
        self.threads = max(1, threads ?? ThreadPool.availableCores)
    }

    public static var availableCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Calls `body` on disjoint subranges covering `0..<count`. `grain` is the least number of items
    /// worth a thread of its own.
    public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / max(grain, 1)))
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            // The chunks are disjoint and the call returns only when all are done, so sharing the
            // closure (and the raw pointers it captures) across workers is safe.
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let start = count * part / parts
                let end = count * (part + 1) / parts
                shared.value(start..<end)
            }
        }
    }
}

struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
