#if canImport(Glibc)
import Glibc
#endif
import LLMQCore
import Synchronization

/// Splits loops across cores with persistent workers. A decode step issues hundreds of small
/// matrix-vector products, so the hand-off must cost well under a microsecond: workers spin on a
/// job word for a short while after each job (the next one usually comes within microseconds) and
/// only then sleep on a condition variable. A job is cut into a few chunks per thread that the
/// threads (the caller among them) claim in turn, so a thread that starts late or runs slowly
/// because other work shares its core leaves its chunks to the others instead of holding up the
/// job. Jobs must not nest: a body must not call `parallelFor` on the same pool.
public final class ThreadPool: @unchecked Sendable {
    public let threads: Int
    private var workers: [pthread_t] = []
    /// `sequence << 8 | parts` of the current job, published with release ordering after `body`
    /// is set, so one acquiring load tells a worker both whether a job is new and whether it is in it.
    private let jobWord = Atomic<Int>(0)
    /// `sequence << 32 | chunks << 16 | next chunk` of the current job: a claim is a compare-and-swap
    /// that fails for a stale job, so a thread arriving after its job ended touches nothing else.
    private let claims = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var count = 0
    private var body: ((Range<Int>) -> Void)?
    private let callers = Locked<Void>(())

    /// Load-and-compare iterations before a worker sleeps: tens of microseconds.
    private static let spinLimit = 50_000
    /// Chunks per participating thread: enough to rebalance, few enough to claim cheaply.
    private static let chunksPerThread = 4

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

    /// Calls `body` on disjoint contiguous subranges covering `0..<count` and returns when all are
    /// done. `grain` is the least number of items worth a thread (and a chunk) of its own; smaller
    /// loops run inline. Which thread runs a subrange varies; the subranges do not.
    public func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        let items = count / max(grain, 1)
        let parts = min(threads, max(1, items))
        if parts <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let chunks = min(parts * Self.chunksPerThread, items)
        withoutActuallyEscaping(body) { body in
            callers.withLock { _ in
                self.count = count
                self.body = body
                completed.store(0, ordering: .relaxed)
                let sequence = (jobWord.load(ordering: .relaxed) >> 8) &+ 1
                claims.store((sequence & 0x7FFF_FFFF) << 32 | chunks << 16, ordering: .relaxed)
                // Sequentially consistent store and load pair with the worker's increment-then-check
                // of `sleepers`, so a worker going to sleep either sees this job or gets woken.
                jobWord.store(sequence << 8 | parts, ordering: .sequentiallyConsistent)
                if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                    pthread_mutex_lock(mutex)
                    pthread_cond_broadcast(wake)
                    pthread_mutex_unlock(mutex)
                }
                runChunks(sequence)
                while completed.load(ordering: .acquiring) < chunks {}
                self.body = nil
            }
        }
    }

    /// Claims and runs chunks of job `sequence` until none is left.
    private func runChunks(_ sequence: Int) {
        let tag = sequence & 0x7FFF_FFFF
        var word = claims.load(ordering: .acquiring)
        while word >> 32 == tag {
            let next = word & 0xFFFF, chunks = (word >> 16) & 0xFFFF
            guard next < chunks else { return }
            let (claimed, current) = claims.compareExchange(expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
            if claimed {
                runChunk(next, of: chunks)
                completed.wrappingAdd(1, ordering: .releasing)
                word = claims.load(ordering: .acquiring)
            } else {
                word = current
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
            // Jobs too small for every thread leave the rest spinning for the next one.
            guard index < word & 0xFF else { continue }
            runChunks(word >> 8)
        }
    }

    /// Runs in its own frame so this thread's reference to the closure is gone before it reports
    /// the chunk done (the caller's `withoutActuallyEscaping` checks that nothing kept it). A
    /// claimed chunk is not done, so the job and its `count` and `body` are still current.
    @inline(never)
    private func runChunk(_ chunk: Int, of chunks: Int) {
        body?((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
    }
}

private final class WorkerContext {
    unowned(unsafe) let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
}
