#if canImport(Glibc)
import Glibc
#endif
import LLMQCore

/// What every fuzz target shares: a scratch directory of real files the readers open through their
/// public entry points, the rule that bad input may only end in an `LLMQError`, and seed writing.
enum Harness {
    /// One directory per fuzzing process (libFuzzer's -fork/-jobs run several), in memory when
    /// /dev/shm exists. scripts/fuzz names the parent (LLMQ_FUZZ_SCRATCH) and deletes it afterwards,
    /// also after a crash, when atexit handlers do not run.
    static let directory: String = {
        let root = getenv("LLMQ_FUZZ_SCRATCH").map { String(cString: $0) } ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp")
        var template = Array("\(root)/llmq-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("cannot create a scratch directory in \(root)") }
        let path = String(cString: made)
        atexit { removeTree(directory) }
        return path
    }()

    /// Replaces the scratch file `name` with `bytes` and returns its path.
    @discardableResult
    static func file(_ name: String, _ bytes: UnsafeRawBufferPointer) -> String {
        let path = directory + "/" + name
        write(bytes, to: path)
        return path
    }

    @discardableResult
    static func file(_ name: String, _ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { file(name, $0) }
    }

    static func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fatalError("cannot write \(path): \(String(cString: strerror(errno)))") }
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            guard n > 0 else { fatalError("cannot write \(path): \(String(cString: strerror(errno)))") }
            done += n
        }
        close(fd)
    }

    static func copy(_ source: String, to destination: String) throws {
        let file = try MappedFile(path: source)
        withExtendedLifetime(file) { write(file.bytes, to: destination) }
    }

    /// A subdirectory of the scratch directory, created once.
    static func subdirectory(_ name: String) -> String {
        let path = directory + "/" + name
        if mkdir(path, 0o755) != 0 && errno != EEXIST { fatalError("cannot create \(path)") }
        return path
    }

    /// Runs one input. An `LLMQError` is the expected end of a bad file; any other error escaping a
    /// reader breaks the contract that every failure names its file and place, so it is a finding.
    static func run(_ body: () throws -> Void) {
        do {
            try body()
        } catch is LLMQError {
        } catch {
            fatalError("an error that is not an LLMQError escaped: \(error)")
        }
    }

    /// `LLMQ_FUZZ_SEEDS=DIR fuzz-TARGET` writes the target's generated seed files into DIR and exits
    /// (scripts/fuzz does this before fuzzing); otherwise nothing happens.
    static func writeSeedsIfAsked(_ write: (String) throws -> Void) {
        guard let dir = getenv("LLMQ_FUZZ_SEEDS").map({ String(cString: $0) }) else { return }
        do {
            try write(dir)
        } catch {
            fatalError("writing seeds into \(dir) failed: \(error)")
        }
        exit(0)
    }

    /// Deletes a file or a directory and everything in it.
    private static func removeTree(_ path: String) {
        if unlink(path) == 0 { return }
        guard let dir = opendir(path) else { return }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    }
}
