#if canImport(Glibc)
import Glibc
#endif
import CProcess
import Foundation
import LLMQCore

/// A command run as a child process, for what `Process` cannot give: its own peak resident memory
/// and CPU time, shell resource limits in front of it (`ulimit -v`, `ulimit -f`), and death by a
/// signal sent to it (kill -9 mid-write). Output goes to files (or /dev/null), so a child never
/// blocks on a full pipe. `llmq bench` measures its quantize runs with it, the tests their
/// memory-bounded and interrupted runs.
///
/// The peak is the kernel's ru_maxrss, which starts from the address space the child was exec'd
/// from: spawned straight from a large process (posix_spawn shares the parent's memory until exec)
/// the child would inherit the parent's high-water mark. So the command is started by a small
/// /bin/sh as a background job, forked from the shell's few MB, and this process, made the
/// reaper of its orphaned descendants, adopts it when the shell exits and waits for it itself.
public final class ChildProcess {
    public struct Exit: Sendable {
        /// The exit code, or nil when a signal ended the command.
        public var status: Int32?
        public var signal: Int32?
        public var seconds: Double
        /// User and system time of the command.
        public var cpuSeconds: Double
        public var peakRSSBytes: Int
        /// Empty when the output was discarded.
        public var stdout: String
        public var stderr: String
    }

    /// The command's process id (not the shell's).
    public let pid: pid_t
    private let start: Double
    private let outputs: [String]

    /// Adopting orphans is set once, before the first shell can exit.
    private static let subreaper: Int32 = llmq_become_subreaper() == 0 ? 0 : errno

    /// Starts `executable arguments…` after the shell commands in `limits` (e.g. "ulimit -v 200000").
    /// - Parameter captureOutput: keep stdout and stderr for `Exit`; otherwise they are discarded.
    public init(_ executable: String, _ arguments: [String], limits: String = ":", captureOutput: Bool = true) throws {
        guard Self.subreaper == 0 else {
            throw LLMQError(.io, "cannot adopt child processes (prctl PR_SET_CHILD_SUBREAPER): \(String(cString: strerror(Self.subreaper)))")
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("llmq-child-\(UUID().uuidString.prefix(8))").path
        outputs = captureOutput ? [base + ".out", base + ".err"] : []
        let (out, err) = captureOutput ? (outputs[0], outputs[1]) : ("/dev/null", "/dev/null")
        let pidFile = base + ".pid"
        defer { unlink(pidFile) }
        // $1 and $2 are the output files, the rest the command; the shell prints the job's pid.
        let script = "o=$1 e=$2; shift 2; \(limits); \"$@\" </dev/null >\"$o\" 2>\"$e\" & echo $!"
        start = BenchClock.wall.now()
        let shell = try Self.spawn("/bin/sh", ["-c", script, "sh", out, err, executable] + arguments, stdout: pidFile)
        var status: Int32 = 0
        while waitpid(shell, &status, 0) < 0 {
            guard errno == EINTR else { throw LLMQError(.io, "waitpid failed: \(String(cString: strerror(errno)))") }
        }
        let printed = (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        guard status == 0, let child = printed.flatMap({ pid_t($0) }), child > 0 else {
            outputs.forEach { unlink($0) }
            throw LLMQError(.io, "/bin/sh could not start \(executable) (wait status \(status))")
        }
        pid = child
    }

    /// Runs the command to completion with its output discarded; throws if it fails.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Exit {
        let exit = try ChildProcess(executable, arguments, captureOutput: false).wait()
        guard exit.status == 0 else {
            let how = exit.status.map { "exit status \($0)" } ?? "signal \(exit.signal ?? 0)"
            throw LLMQError(.invalid, "\(([executable] + arguments).joined(separator: " ")) failed (\(how))")
        }
        return exit
    }

    public func kill(_ signal: Int32 = SIGKILL) {
        Glibc.kill(pid, signal)
    }

    /// Waits for the command to end and removes its output files.
    public func wait() throws -> Exit {
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw LLMQError(.io, "wait4 failed: \(String(cString: strerror(errno)))") }
        }
        let seconds = BenchClock.wall.now() - start
        defer { outputs.forEach { unlink($0) } }
        func read(_ index: Int) -> String {
            index < outputs.count ? (try? String(contentsOfFile: outputs[index], encoding: .utf8)) ?? "" : ""
        }
        // <sys/wait.h>'s WIFEXITED/WTERMSIG are macros Swift does not import.
        let signal = status & 0x7F
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
        return Exit(status: signal == 0 ? (status >> 8) & 0xFF : nil, signal: signal == 0 ? nil : signal, seconds: seconds,
                    cpuSeconds: cpu, peakRSSBytes: Int(usage.ru_maxrss) * 1024, stdout: read(0), stderr: read(1))
    }

    private static func spawn(_ executable: String, _ arguments: [String], stdout: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard result == 0 else { throw LLMQError(.io, "cannot start: \(String(cString: strerror(result)))", file: executable) }
        return pid
    }
}
