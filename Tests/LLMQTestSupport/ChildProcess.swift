import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A command started with posix_spawn and reaped with wait4, for what `Process` cannot give: death
/// by a signal the test sends (kill -9 mid-write), resource limits set by a shell in front of it
/// (`ulimit -v`, `ulimit -f`) and its peak memory (through scripts/peak-rss: the child of a large
/// process inherits that process's high-water mark). Output goes to files in the temp directory,
/// so a child never blocks on a full pipe.
public final class ChildProcess {
    public struct Exit {
        /// The exit code, or nil when a signal ended the child.
        public var status: Int32?
        public var signal: Int32?
        /// Peak resident memory of the command, bytes, when measured.
        public var maxRSS: Int?
        public var stdout: String
        public var stderr: String
    }

    public let pid: pid_t
    private let stdoutPath: String
    private let stderrPath: String
    private var rssReport: String?

    public init(_ executable: String, _ arguments: [String]) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("llmq-child-\(UUID().uuidString.prefix(8))").path
        stdoutPath = base + ".out"
        stderrPath = base + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let result = posix_spawn(&child, executable, &actions, nil, argv, environ)
        guard result == 0 else { throw Fixtures.FixtureError("cannot start \(executable): \(String(cString: strerror(result)))") }
        pid = child
    }

    /// The command run by /bin/sh after `limits` (e.g. "ulimit -v 200000"), its peak memory measured.
    public convenience init(limits: String, measured executable: String, _ arguments: [String]) throws {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("llmq-rss-\(UUID().uuidString.prefix(8))").path
        let command = ["python3", Fixtures.repoRoot.appendingPathComponent("scripts/peak-rss").path, report, executable] + arguments
        let quoted = command.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        try self.init("/bin/sh", ["-c", "\(limits); exec \(quoted.joined(separator: " "))"])
        rssReport = report
    }

    public func kill(_ signal: Int32 = SIGKILL) {
        Glibc.kill(pid, signal)
    }

    /// Waits for the child to end and removes its output files.
    public func wait() throws -> Exit {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Fixtures.FixtureError("wait4 failed: \(String(cString: strerror(errno)))") }
        }
        defer { [stdoutPath, stderrPath, rssReport].compactMap { $0 }.forEach { unlink($0) } }
        // <sys/wait.h>'s WIFEXITED/WTERMSIG are macros Swift does not import; scripts/peak-rss
        // reports a signal as 128 + its number.
        var signal = status & 0x7F
        var code = signal == 0 ? (status >> 8) & 0xFF : nil
        if rssReport != nil, let c = code, c > 128 { (code, signal) = (nil, c - 128) }
        let kib = rssReport.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) }.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return Exit(status: code, signal: signal == 0 ? nil : signal, maxRSS: kib.map { $0 * 1024 },
                    stdout: (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "",
                    stderr: (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")
    }
}
