#if canImport(Glibc)
import Glibc
#endif
import LLMQCore

/// Runs a command as a child process and reports its wall-clock time and peak resident memory
/// (the kernel's ru_maxrss for that child alone), so a measured command's memory is not mixed
/// with the benchmark's own.
///
/// posix_spawn starts the child in the parent's address space (vfork), and exec records that
/// address space's high-water RSS as the child's starting maxrss, so the parent's peak (the 1 GiB
/// bandwidth probe) would show up as the child's. The parent resets its high-water mark to its
/// current RSS first (`/proc/self/clear_refs`), leaving its current RSS as the figure's floor.
public enum ChildProcess {
    public struct Result: Sendable {
        public var seconds: Double
        /// User and system time of the child.
        public var cpuSeconds: Double
        public var peakRSSBytes: Int
        /// The parent's RSS when it spawned the child: a peak at or below it may be the parent's.
        public var floorBytes: Int
    }

    /// Runs `executable arguments…` with stdout and stderr discarded; throws if it fails.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        resetPeakRSS()
        let floor = currentRSS()
        var pid = pid_t()
        let start = BenchClock.wall.now()
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw LLMQError(.io, "cannot start: \(String(cString: strerror(spawned)))", file: executable)
        }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw LLMQError(.io, "wait4 failed: \(String(cString: strerror(errno)))", file: executable) }
        }
        let seconds = BenchClock.wall.now() - start
        // WIFEXITED && WEXITSTATUS == 0, spelled out: the macros are not imported.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw LLMQError(.invalid, "\(([executable] + arguments).joined(separator: " ")) failed (wait status \(status))")
        }
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
        return Result(seconds: seconds, cpuSeconds: cpu, peakRSSBytes: Int(usage.ru_maxrss) * 1024, floorBytes: floor)
    }

    /// Sets this process's high-water RSS to its current RSS (Linux ≥ 4.0; ignored elsewhere).
    static func resetPeakRSS() {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return }
        _ = write(fd, "5", 1)
        close(fd)
    }

    /// This process's resident memory (VmRSS of /proc/self/status, in kB there), 0 if unknown.
    static func currentRSS() -> Int {
        (ProcFile.field("VmRSS", in: "/proc/self/status").flatMap { Int($0.filter(\.isNumber)) } ?? 0) * 1024
    }
}
