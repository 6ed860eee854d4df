import Foundation
import LLMQ

/// stdout/stderr helpers: errors on one line, progress only on an interactive terminal.
enum Terminal {
    static let stderrIsTTY = isatty(STDERR_FILENO) == 1

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("llmq: error: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }

    /// Unbuffered, so generated text appears token by token.
    static func write(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in
            var done = 0
            while done < b.count {
                let n = Foundation.write(STDOUT_FILENO, b.baseAddress! + done, b.count - done)
                if n <= 0 { return }
                done += n
            }
        }
    }

    /// Runs a library call with its progress reports drawn as bars on stderr, one per phase.
    static func withProgress<T>(_ body: (@escaping ProgressHandler) throws -> T) rethrows -> T {
        let bars = ProgressBars()
        defer { bars.finish() }
        return try body(bars.handler)
    }

    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// A one-line progress bar on stderr that redraws in place, and says nothing when stderr is not a TTY.
final class Progress {
    private let label: String
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var drawn = false

    init(_ label: String) { self.label = label }

    func update(_ done: Int, _ total: Int, detail: String = "") {
        guard Terminal.stderrIsTTY, total > 0 else { return }
        let now = ContinuousClock.now
        guard done == total || now - lastDraw > .milliseconds(100) else { return }
        lastDraw = now
        let width = 30
        let filled = width * done / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(done)/\(total) \(detail)\u{1B}[K".utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// The library's progress reports as `Progress` bars: a new bar when the phase changes.
final class ProgressBars: Sendable {
    private let current = Locked<(phase: Phase, bar: Progress)?>(nil)

    var handler: ProgressHandler {
        { [self] event in
            current.withLock { current in
                if current?.phase != event.phase {
                    current?.bar.finish()
                    current = (event.phase, Progress(event.phase.rawValue))
                }
                current?.bar.update(event.done, event.total)
            }
        }
    }

    func finish() {
        current.withLock { $0?.bar.finish() }
    }
}

/// Column-aligned text tables.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    /// Columns whose values line up on the right (numbers).
    var rightAligned: Set<Int> = []

    mutating func add(_ row: [String]) { rows.append(row) }

    func render() -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: max(0, widths[i] - cell.count))
                return rightAligned.contains(i) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)).joined(separator: "\n")
    }
}

enum Format {
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.2f %@", value, units[unit])
    }

    static func count(_ n: Int) -> String {
        if n >= 1_000_000_000 { return String(format: "%.2fB", Double(n) / 1e9) }
        if n >= 1_000_000 { return String(format: "%.2fM", Double(n) / 1e6) }
        if n >= 10_000 { return String(format: "%.1fK", Double(n) / 1e3) }
        return "\(n)"
    }

    static func fixed(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
}
