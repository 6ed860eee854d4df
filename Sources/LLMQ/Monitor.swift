import LLMQCore

/// A stage of a long call, as its progress reports name it. The command line labels its progress
/// bar with `rawValue`.
public struct Phase: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// Tensors written by `convert` (and `dequantize`).
    public static let convert = Phase(rawValue: "convert")
    public static let dequantize = Phase(rawValue: "dequantize")
    /// Tensors quantized and written.
    public static let quantize = Phase(rawValue: "quantize")
    /// Matrices whose rounding error `targetBPW` estimated at each rung of its ladder.
    public static let bitAllocation = Phase(rawValue: "target-bpw")
    /// Chunks of GPTQ calibration text run, then distinct matrix inputs factored.
    public static let gptqCollect = Phase(rawValue: "gptq: collect")
    public static let gptqFactor = Phase(rawValue: "gptq: factor")
    /// Chunks run by `calibrate`, then units whose sensitivity was measured.
    public static let calibrate = Phase(rawValue: "calibrate")
    public static let sensitivity = Phase(rawValue: "sensitivity")
    /// Chunks scored.
    public static let perplexity = Phase(rawValue: "perplexity")
    public static let verify = Phase(rawValue: "verify")
}

/// `done` of `total` units of a phase (tensors, chunks, matrices) are finished.
public struct ProgressEvent: Sendable, Hashable, Codable {
    public var phase: Phase
    public var done: Int
    public var total: Int

    public init(phase: Phase, done: Int, total: Int) {
        self.phase = phase
        self.done = done
        self.total = total
    }

    public var fraction: Double { total > 0 ? Double(done) / Double(total) : 1 }
}

/// Receives progress reports. Calls never overlap, but may come from a worker thread.
public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void

/// Stops a call from another thread: `cancel()`, or a condition asked between steps. A call that
/// notices it throws `CancellationError` and leaves no output file (writers rename a complete
/// temporary file into place only at the end). Calls also stop when the task they run in
/// (`Task.isCancelled`) is cancelled.
public final class CancellationToken: Sendable {
    private let cancelled = Locked(false)
    private let condition: (@Sendable () -> Bool)?

    public init() { condition = nil }

    /// A token that is cancelled once `condition` returns true (a deadline, a flag of your own).
    public init(when condition: @escaping @Sendable () -> Bool) { self.condition = condition }

    public func cancel() { cancelled.withLock { $0 = true } }

    public var isCancelled: Bool { cancelled.withLock { $0 } || condition?() == true }
}

/// What a call reports to and is stopped by, checked between its steps (chunks, tensors, units).
struct Monitor: Sendable {
    let token: CancellationToken?
    let handler: ProgressHandler?
    /// Serializes reports from worker threads.
    private let reporting = Locked(())

    init(_ token: CancellationToken?, _ handler: ProgressHandler?) {
        self.token = token
        self.handler = handler
    }

    static let silent = Monitor(nil, nil)

    func checkCancellation() throws {
        if token?.isCancelled == true || Task.isCancelled { throw CancellationError() }
    }

    func report(_ phase: Phase, _ done: Int, _ total: Int) {
        guard let handler else { return }
        reporting.withLock { _ in handler(ProgressEvent(phase: phase, done: done, total: total)) }
    }

    /// A step callback for one phase of `total` steps: reports, then stops the call if cancelled.
    func steps(_ phase: Phase, of total: Int) -> (Int) throws -> Void {
        { done in
            report(phase, done, total)
            try checkCancellation()
        }
    }

    /// The same for writers, which pass the total along.
    func writing(_ phase: Phase) -> (Int, Int) throws -> Void {
        { done, total in
            report(phase, done, total)
            try checkCancellation()
        }
    }
}
