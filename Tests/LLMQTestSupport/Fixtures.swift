import Foundation

/// Paths to the real models and texts the repository carries (golden/models, golden/data; their
/// SOURCES.md say what they are) and to the project's own golden files, plus a scratch directory
/// per test, so tests run the real readers on real files.
public enum Fixtures {
    public static let repoRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    public static let stories260K = golden("models/stories260K.bin")
    public static let stories260KGGUF = golden("models/stories260K.gguf")
    public static let tok512 = golden("models/tok512.bin")
    public static let tinyStories = golden("data/tinystories_sample.txt")
    /// Technical prose (the xz manual page): text small models find hard.
    public static let xzManual = golden("data/xz-manual.txt")

    /// Real-model checks on SmolLM2-135M-Instruct (a ~90 MB download) run when LLMQ_SMOLLM2=1.
    public static let smolLM2Enabled = ProcessInfo.processInfo.environment["LLMQ_SMOLLM2"] == "1"

    /// The path of SmolLM2-135M-Instruct.Q4_1.gguf, downloaded once by scripts/fetch-smollm2 into
    /// ${LLMQ_MODELS:-~/.cache/llmq}.
    public static func smolLM2() throws -> String {
        let r = try run(repoRoot.appendingPathComponent("scripts/fetch-smollm2").path, [])
        guard r.status == 0 else { throw FixtureError("scripts/fetch-smollm2 failed: \(r.stderr)") }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public static func golden(_ name: String) -> String {
        repoRoot.appendingPathComponent("golden").appendingPathComponent(name).path
    }

    /// A fresh empty directory under the system temp dir.
    public static func scratch(_ label: String = #function) throws -> String {
        let safe = label.filter { $0.isLetter || $0.isNumber }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("llmq-tests-\(safe)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    public static func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    public static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Little-endian bytes of a sequence of int32 values.
    public static func int32s(_ values: [Int32]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }

    /// The llmq executable SwiftPM built beside the test binary (or $LLMQ_BIN).
    public static var llmq: String {
        if let override = ProcessInfo.processInfo.environment["LLMQ_BIN"] { return override }
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return testBinary.deletingLastPathComponent().appendingPathComponent("llmq").path
    }

    public struct FixtureError: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs a command line to completion.
    public static func run(_ executable: String, _ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        DispatchQueue.global().async(group: group) { errData = err.fileHandleForReading.readDataToEndOfFile() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    public static func llmq(_ arguments: String...) throws -> Result {
        try run(llmq, arguments)
    }

    public static func llmq(_ arguments: [String]) throws -> Result {
        try run(llmq, arguments)
    }
}
