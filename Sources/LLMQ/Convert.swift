import LLMQCore
import LLMQFormats
import LLMQQuant

/// `llmq convert` and `llmq dequantize`: rewrite a model in another format.
public struct ConvertRequest: Sendable, Hashable {
    /// Any model llmq reads (`ModelFile.open`).
    public var input: String
    public var output: String
    /// A llama2.c tokenizer.bin to embed instead of the input's own; nil: the input's own, or
    /// tokenizer.bin beside a llama2.c checkpoint.
    public var tokenizer: String?
    /// Expand every tensor to fp32 first (`llmq dequantize`); otherwise dtypes are kept where the
    /// output format can hold them.
    public var dequantize = false
    public var settings = OutputSettings()
    /// Threads zstd may use per tensor; nil: every core.
    public var threads: Int?

    public init(input: String, output: String, tokenizer: String? = nil, dequantize: Bool = false, settings: OutputSettings = OutputSettings()) {
        self.input = input
        self.output = output
        self.tokenizer = tokenizer
        self.dequantize = dequantize
        self.settings = settings
    }
}

/// Rewrites `request.input` as `request.output`, streaming tensor by tensor (memory near one
/// tensor), atomically and never over the input. A container records the command, the settings and
/// the input's digest.
/// - Parameters:
///   - cancellation: checked after each tensor; a cancelled call throws `CancellationError` and
///     leaves no output.
///   - progress: `.convert` (or `.dequantize`): tensors written.
public func convert(_ request: ConvertRequest, cancellation: CancellationToken? = nil,
                    progress: ProgressHandler? = nil) throws -> ConversionResult {
    let monitor = Monitor(cancellation, progress)
    let model = try ModelInput.openForWriting(request.input, tokenizer: request.tokenizer)
    let writer = ModelWriter(source: model, output: request.output, settings: request.settings,
                             command: request.dequantize ? "dequantize" : "convert",
                             parameters: request.dequantize ? ["type": "f32"] : [:], threads: request.threads)
    let view = request.dequantize ? try Dequantize.fp32View(of: model) : model
    return try writer.write(view, phase: request.dequantize ? .dequantize : .convert, monitor: monitor).result
}
