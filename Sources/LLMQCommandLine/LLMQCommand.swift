import ArgumentParser
import Foundation
import LLMQCore

@main
struct LLMQCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "llmq",
        abstract: "Convert, quantize, inspect and verify Llama-family model weights.",
        version: version,
        subcommands: [RunCommand.self, InspectCommand.self, SynthCommand.self, ConvertCommand.self, DequantizeCommand.self, QuantizeCommand.self,
                      PerplexityCommand.self, VerifyCommand.self, BenchCommand.self, CalibrateCommand.self]
    )

    /// Exit codes: 0 success, 1 a quality gate failed, 2 bad input or usage.
    static func main() {
        // Past a file-size limit (ulimit -f) a write should fail with EFBIG and an error naming the
        // output, not kill the process with SIGXFSZ.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot(OutputOptions.normalize(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as LLMQError {
            Terminal.error(error.description)
            Foundation.exit(2)
        } catch let error as GateFailure {
            Terminal.error(error.description)
            Foundation.exit(1)
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            Terminal.error(fullMessage(for: error))
            Foundation.exit(2)
        }
    }
}

/// Thrown by commands whose quality thresholds were not met (exit code 1).
struct GateFailure: Error, CustomStringConvertible {
    var description: String
}
