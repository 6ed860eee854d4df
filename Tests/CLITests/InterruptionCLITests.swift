import Foundation
import LLMQCore
import LLMQBench
import LLMQTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Interrupted and starved writes: `quantize` and `convert` killed with SIGKILL at spread-out random
/// moments, or stopped by a full disk (`ulimit -f`), leave the previous output byte for byte and no
/// stray file; the input is never opened for writing.
@Suite("Outputs under kill -9, a full disk, and inputs left alone")
struct InterruptionCLITests {
    /// A ~27 MB llama2.c checkpoint, so a run lasts long enough to be killed in every phase.
    static let model: (dir: String, path: String) = {
        let dir = try! Fixtures.scratch("interruption-model")
        let path = dir + "/model.bin"
        let r = try! Fixtures.llmq("synth", path, "--dim", "256", "--hidden-dim", "768", "--layers", "8", "--heads", "8",
                                   "--kv-heads", "4", "--vocab", "512", "--tokenizer", dir + "/tokenizer.bin")
        precondition(r.status == 0, r.stderr)
        return (dir, path)
    }()

    static let previous = [UInt8]("the previous output, which an interrupted run must leave as it was\n".utf8)

    /// A command under test: `llmq VERB model.bin DIR/OUTPUT OPTIONS…`.
    struct Command: CustomTestStringConvertible, Sendable {
        var verb: String
        var output: String
        var options: [String]
        var testDescription: String { "\(verb) to \(output) \(options.joined(separator: " "))" }

        func arguments(_ out: String) -> [String] { [verb, InterruptionCLITests.model.path, out] + options }
    }

    static let commands = [
        Command(verb: "quantize", output: "out.q4", options: ["--type", "q4_0"]),
        Command(verb: "convert", output: "out.llmq", options: ["--zstd"]),
        Command(verb: "convert", output: "out.gguf", options: []),
    ]

    func entries(_ dir: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    }

    /// After an interrupted run: the output is the previous file (or `complete`), and alone.
    func expectPreviousOutput(_ command: Command, in dir: String, orElse complete: [UInt8]? = nil, _ context: String) throws {
        let after = try Fixtures.read(dir + "/" + command.output)
        #expect(after == Self.previous || after == complete, "\(context): \(after.count) bytes")
        let left = try entries(dir)
        #expect(left == [command.output], "\(context): \(left)")
    }

    @Test("kill -9 at 12 moments of a run leaves the previous file or the complete new one, and nothing else",
          arguments: commands)
    func killed(_ command: Command) throws {
        let label = command.testDescription, arguments = command.arguments
        let dir = try Fixtures.scratch()
        let out = dir + "/" + command.output
        let inputBefore = try XXH64.hash(fileAt: Self.model.path)
        let start = Date()
        let full = try Fixtures.llmq(arguments(out))
        // How long a run lasts; shortened whenever a run beats its kill (the load on the machine varies).
        var duration = Date().timeIntervalSince(start)
        #expect(full.status == 0, "\(full.stderr)")
        let complete = try Fixtures.read(out)
        var random = SystemRandomNumberGenerator()
        let trials = 12
        var killedMidRun = 0, attempts = 0
        while killedMidRun < trials && attempts < 3 * trials {
            attempts += 1
            try Fixtures.write(Self.previous, to: out)
            // One moment in each twelfth of the run's duration.
            let delay = duration * (Double(killedMidRun) + Double.random(in: 0..<1, using: &random)) / Double(trials)
            let started = Date()
            let child = try ChildProcess(Fixtures.llmq, arguments(out))
            usleep(UInt32(delay * 1_000_000))
            child.kill()
            let exit = try child.wait()
            let context = "\(label): killed after \(Int(delay * 1000)) ms of \(Int(duration * 1000)); exit \(exit.status.map(String.init) ?? "by signal \(exit.signal!)")"
            if exit.signal == SIGKILL {
                killedMidRun += 1
                try expectPreviousOutput(command, in: dir, orElse: complete, context)
            } else {
                #expect(try Fixtures.read(out) == complete, "\(context)")
                duration = min(duration, Date().timeIntervalSince(started))
            }
        }
        // Landing every kill is up to the scheduler; half of them mid-run keeps the test from being vacuous.
        #expect(killedMidRun >= trials / 2, "\(label): only \(killedMidRun) kills in \(attempts) attempts landed before the run ended")
        #expect(try XXH64.hash(fileAt: Self.model.path) == inputBefore)
    }

    @Test("a full disk (ulimit -f) ends in an error naming the output, the previous file intact, nothing else left",
          arguments: commands)
    func diskFull(_ command: Command) throws {
        let dir = try Fixtures.scratch()
        let out = dir + "/" + command.output
        try Fixtures.write(Self.previous, to: out)
        // 2048 blocks: 1 MiB (dash counts 512-byte blocks) or 2 MiB (bash, 1 KiB), far below any of the outputs.
        let exit = try ChildProcess(Fixtures.llmq, command.arguments(out), limits: "ulimit -f 2048").wait()
        #expect(exit.status == 2, "\(command.testDescription): signal \(exit.signal ?? 0)")
        #expect(exit.stderr.hasPrefix("llmq: error: \(out): write failed") && exit.stderr.contains("File too large"), "\(exit.stderr)")
        try expectPreviousOutput(command, in: dir, command.testDescription)
    }

    @Test("quantize, convert, dequantize, inspect --check and verify never open their inputs for writing")
    func inputsOnlyRead() throws {
        let dir = try Fixtures.scratch()
        let q8 = dir + "/m.q8"
        let runs: [(input: String, arguments: [String])] = [
            (Fixtures.stories260K, ["quantize", Fixtures.stories260K, q8, "-z", Fixtures.tok512]),
            (Fixtures.stories260K, ["convert", Fixtures.stories260K, dir + "/m.gguf", "-z", Fixtures.tok512]),
            (q8, ["dequantize", q8, dir + "/m.safetensors"]),
            (q8, ["inspect", q8, "--check"]),
            (q8, ["verify", Fixtures.stories260K, q8, "-z", Fixtures.tok512, "--text", Fixtures.tinyStories, "--chunks", "1", "--ctx", "64"]),
        ]
        for (input, arguments) in runs {
            let events = try FileEvents(watching: input)
            let r = try Fixtures.llmq(arguments)
            #expect(r.status == 0, "\(arguments[0]): \(r.stderr)")
            let seen = events.read()
            #expect(seen.contains { $0 & FileEvents.readClosed != 0 }, "\(arguments[0]): the watch saw \(input) opened for reading")
            let writes = seen.filter { $0 & FileEvents.changed != 0 }
            #expect(writes.isEmpty, "\(arguments[0]) touched \(input): inotify masks \(writes)")
        }
    }
}

/// inotify events on one file (Linux): what happened to it while a command ran.
final class FileEvents {
    static let readClosed = UInt32(IN_CLOSE_NOWRITE)
    /// Written to, closed after writing, metadata changed, renamed or deleted.
    static let changed = UInt32(IN_MODIFY) | UInt32(IN_CLOSE_WRITE) | UInt32(IN_ATTRIB) | UInt32(IN_MOVE_SELF) | UInt32(IN_DELETE_SELF)
    private let fd: Int32

    init(watching path: String) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0, inotify_add_watch(fd, path, Self.readClosed | Self.changed | UInt32(IN_OPEN) | UInt32(IN_ACCESS)) >= 0 else {
            throw Fixtures.FixtureError("cannot watch \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// The event masks queued so far.
    func read() -> [UInt32] {
        var masks: [UInt32] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { return masks }
            var at = 0
            buffer.withUnsafeBytes { raw in
                // struct inotify_event: wd, mask, cookie, len, then len bytes of name.
                while at + 16 <= n {
                    masks.append(raw.loadUnaligned(fromByteOffset: at + 4, as: UInt32.self))
                    at += 16 + Int(raw.loadUnaligned(fromByteOffset: at + 12, as: UInt32.self))
                }
            }
        }
    }
}
