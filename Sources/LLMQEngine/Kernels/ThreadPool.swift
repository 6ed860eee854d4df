#if canImport(Glibc)
import Glibc
#endif
import LLMQCore
import Synchronization

/// Splits loops across cores with persistent workers. A decode step issues hundreds of small
/// matrix-vector products, so the hand-off must cost well under a microsecond: workers spin on a
/// job word for a short while after each job (the next one usually comes within microseconds) and
/// only then sleep on a condition variable. The calling thread always runs part 0 itself.
/// Jobs must not nest: a body must not call `parallelFor` on the same pool.
public final class ThreadPool: @unchecked Sendable {
    public let threads: Int
    private var workers: [pthread_t] = []
    /// `sequence << 8 | parts` of the current job, published with release ordering after `body`
    /// is set, so one acquiring load tells a worker both whether a job is new and whether it is in it.
    private let jobWord = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var count = 0
    private var body: ((Range<Int>) -> Void)?
    private let callers = Locked<Void>(())

    /// Load-and-compare iterations before a worker sleeps: tens of microseconds.
    private static let spinLimit = 50_000

    public init(threads: Int? = nil) {
        let n = max(1, min(threads ?? ThreadPool.availableCores, 255))
        self.threads = n
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        for index in 1..<n {
            // Workers reference the pool unretained: deinit joins them before the memory goes away.
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: index)).toOpaque()
            var thread = pthread_t()
            pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.pool.workerLoop(context.index)
                return nil
            }, context)
            workers.append(thread)
        }
    }

    deinit {
        stopping.store(true, ordering: .releasing)
        pthread_mutex_lock(mutex)
        jobWord.wrappingAdd(1 << 8, ordering: .releasing)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
        for t in workers { pthread_join(t, nil) }
        pthread_cond_destroy(wake)
        pthread_mutex_destroy(mutex)
        wake.deallocate()
        mutex.deallocate()
    }

    public static var availableCores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// Calls `body` on disjoint contiguous subranges covering `0..<count`, one per thread, and
    /// returns when all are done. `grain` is the least number of items worth a thread of its own;
    /// smaller loops run inline.
    public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, max(1, count / max(grain, 1)))
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        withoutActuallyEscaping(body) { body in
            callers.withLock { _ in
                self.count = count
                self.body = body
                pending.store(parts - 1, ordering: .relaxed)
                let sequence = (jobWord.load(ordering: .relaxed) >> 8) &+ 1
                // Sequentially consistent store and load pair with the worker's increment-then-check
                // of `sleepers`, so a worker going to sleep either sees this job or gets woken.
                jobWord.store(sequence << 8 | parts, ordering: .sequentiallyConsistent)
                if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                    pthread_mutex_lock(mutex)
                    pthread_cond_broadcast(wake)
                    pthread_mutex_unlock(mutex)
                }
                body(0..<(count / parts))
                while pending.load(ordering: .acquiring) > 0 {}
                self.body = nil
            }
        }
    }

    fileprivate func workerLoop(_ index: Int) {
        // The word the pool was created with, not the current one: a job may already have been
        // published before this thread got to run.
        var seen = 0
        while true {
            var word = jobWord.load(ordering: .acquiring)
            var spins = 0
            while word == seen {
                spins += 1
                if spins > ThreadPool.spinLimit {
                    pthread_mutex_lock(mutex)
                    sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    while jobWord.load(ordering: .sequentiallyConsistent) == seen { pthread_cond_wait(wake, mutex) }
                    sleepers.wrappingSubtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(mutex)
                    spins = 0
                }
                word = jobWord.load(ordering: .acquiring)
            }
            seen = word
            if stopping.load(ordering: .acquiring) { return }
            let parts = word & 0xFF
            // Not in this job: do not touch its state (the caller may already be on the next one).
            guard index < parts else { continue }
            runPart(index, of: parts)
            pending.wrappingSubtract(1, ordering: .releasing)
        }
    }

    /// Runs in its own frame so the worker's reference to the closure is gone before it reports
    /// done (the caller's `withoutActuallyEscaping` checks that nothing kept it).
    @inline(never)
    private func runPart(_ index: Int, of parts: Int) {
        body?((count * index / parts)..<(count * (index + 1) / parts))
    }
}

private final class WorkerContext {
    unowned(unsafe) let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
}
