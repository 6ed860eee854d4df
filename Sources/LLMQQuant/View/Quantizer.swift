#if canImport(Glibc)
import Glibc
#endif
import LLMQCore

/// Quantized views of models: the tensors a plan asks for, produced one at a time when a writer
/// (or the engine) reads them, so a whole model converts with memory near its largest tensor.
public enum Quantizer {
    /// A model whose tensors have the plan's dtypes. Tensors that change dtype are encoded from
    /// `source` (any dtype it stores) on first read, using `threads` cores, and their error against
    /// the source goes to `stats`; the rest are `source`'s own tensors, passed through unread.
    /// When the recipe searches scales, `importance` (if given) weights each matrix's error by
    /// its input columns' mean squared activation; matrices it does not cover weigh every element alike.
    /// Matrices `feedback` has feedback for are rounded with it when their type allows it
    /// (`ColumnwiseRoundable`): GPTQ over their calibration inputs' second moments. It is asked
    /// only then, when the tensor is encoded.
    public static func view(of source: Model, plan: QuantizationPlan, stats: QuantizationStats? = nil,
                            threads: Int? = nil, importance: ImportanceMatrix? = nil,
                            feedback: any ErrorFeedbackSource = [String: ErrorFeedback]()) throws -> Model {
        try check(plan, against: source)
        if importance != nil, !plan.recipe.scaleSearch {
            throw LLMQError(.usage, "an importance matrix weights the scale search; the recipe does not search scales")
        }
        let search = plan.recipe.scaleSearch
        let encoder = TensorEncoder(threads: max(1, threads ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        let generated = source.files.count
        let tensors = zip(source.tensors, plan.entries).map { tensor, entry -> Tensor in
            guard !entry.passesThrough else { return tensor }
            let target = entry.dtype
            let roundable = target.isValidBlockSize && target.type is any ColumnwiseRoundable.Type
            let fed = { @Sendable in roundable ? try feedback.feedback(for: tensor.name) : nil }
            let weights = { @Sendable in search ? try importance?.columnWeights(for: tensor) ?? [Float](repeating: 1, count: tensor.cols) : nil }
            // Whole (`Model.data`, for the engine) or piece by piece (`Model.stream`, for writers);
            // the source's decoded copy, if it had to decode, is dropped once encoded.
            return Tensor(name: tensor.name, shape: tensor.shape, dtype: target, fileIndex: generated, offset: 0,
                          storedByteCount: 0, encoding: "\(tensor.dtype) → \(target)",
                          decode: { _ in
                              defer { source.release(tensor) }
                              let (bytes, error) = try encoder.encode(source, tensor, as: target, columnWeights: try weights(),
                                                                      feedback: try fed())
                              stats?.record(error)
                              return bytes
                          },
                          stream: { _, _, sink in
                              defer { source.release(tensor) }
                              // Encoded first: `stats?.record(try encoder.stream(…))` would skip the
                              // encoding itself when no one collects statistics.
                              let error = try encoder.stream(source, tensor, as: target, columnWeights: try weights(),
                                                             feedback: try fed(), sink)
                              stats?.record(error)
                          })
        }
        return try Model(format: FileFormat(name: "quantized", detail: "\(source.format) to \(plan.recipe.base)"),
                         files: source.files + [MappedFile(emptyNamed: "<quantized view of \(source.path)>")],
                         config: source.config, tensors: tensors, tokenizer: source.tokenizer, metadata: source.metadata)
    }

    /// A plan must describe exactly this model (it may come from a file), with dtypes llmq writes.
    private static func check(_ plan: QuantizationPlan, against model: Model) throws {
        guard plan.entries.count == model.tensors.count else {
            throw LLMQError(.usage, "the plan has \(plan.entries.count) tensors, the model \(model.tensors.count)", file: model.path)
        }
        for (tensor, entry) in zip(model.tensors, plan.entries) {
            guard entry.name == tensor.name, entry.shape == tensor.shape, entry.sourceDType == tensor.dtype else {
                throw LLMQError(.usage, "the plan's entry \(entry.name) \(entry.shape) \(entry.sourceDType) does not match the model's tensor",
                                file: model.path, tensor: tensor.name)
            }
            guard entry.passesThrough || Quantize.canEncode(entry.dtype) else {
                throw LLMQError(.usage, "llmq cannot write \(entry.dtype)", file: model.path, tensor: tensor.name)
            }
            guard entry.dtype.byteCount(shape: entry.shape) != nil else {
                throw LLMQError(.usage, "rows of \(tensor.cols) are not a whole number of \(entry.dtype) blocks",
                                file: model.path, tensor: tensor.name)
            }
        }
    }
}
