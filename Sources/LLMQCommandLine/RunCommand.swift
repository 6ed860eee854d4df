import ArgumentParser
import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Generate text, as llama2.c's run.c does (same sampler, same seeded output).",
        discussion: "Generated text goes to stdout; the achieved tokens/s to stderr."
    )

    @Argument(help: "Model file.")
    var model: String

    @Option(name: .short, help: "Tokenizer file (llama2.c tokenizer.bin); default: the model's own, or tokenizer.bin beside it.")
    var z: String?

    @Option(name: .short, help: "Temperature; 0 is greedy.")
    var t: Float = 1.0

    @Option(name: .short, help: "Top-p (nucleus) threshold; 1 disables it.")
    var p: Float = 0.9

    @Option(name: .short, help: "Random seed (default: the current time).")
    var s: UInt64?

    @Option(name: .short, help: "Positions to run, prompt included; 0 means the whole context.")
    var n: Int = 256

    @Option(name: .short, help: "Prompt.")
    var i: String = ""

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        guard t >= 0 else { throw ValidationError("temperature must be ≥ 0") }
        guard p >= 0 && p <= 1 else { throw ValidationError("top-p must be in 0...1") }
        guard n >= 0 else { throw ValidationError("steps must be ≥ 0") }
    }

    func run() throws {
        let loaded = try ModelFile.openWithTokenizer(model, tokenizerPath: z)
        guard let vocabulary = loaded.tokenizer else {
            throw LLMQError(.usage, "has no tokenizer; pass one with -z", file: model)
        }
        let tokenizer = try Tokenizers.make(vocabulary)
        let transformer = try Transformer(model: loaded, contextLength: n > 0 ? n : nil, pool: ThreadPool(threads: threads))
        // run.c seeds from the clock when no seed is given; a zero state would stick at zero.
        let seed = s ?? UInt64(Date().timeIntervalSince1970)
        var sampler = Sampler(vocabSize: loaded.config.vocabSize, temperature: t, topP: p, seed: seed == 0 ? 1 : seed)
        // run.c's safe_printf drops a lone <0xNN> byte that is neither printable nor whitespace; byte-level
        // BPE pieces are often parts of one UTF-8 character and must all be printed.
        let dropsLoneBytes = vocabulary.kind == .sentencePiece
        let stats = Generation.run(transformer: transformer, tokenizer: tokenizer, sampler: &sampler, prompt: i, steps: n) { piece in
            if dropsLoneBytes, piece.count == 1, !(0x20...0x7E).contains(piece[0]), !(0x09...0x0D).contains(piece[0]) { return }
            Terminal.write(bytes: piece)
        }
        Terminal.write(bytes: [0x0A])
        if stats.tokens.count > 1 {
            Terminal.note("achieved tok/s: \(String(format: "%f", stats.tokensPerSecond))")
        }
    }
}
