import LLMQCore
import LLMQFormats

/// The per-tensor quantization table that `quantize` prints after writing and `inspect` shows
/// for a container: what each tensor became, from what, its stored size, error and fallback reason.
enum RecipeTable {
    /// - Parameter tensors: the written file's tensors, for their stored and raw sizes.
    static func render(_ quantization: ContainerMetadata.Quantization?, tensors: [Tensor]) -> String {
        guard let q = quantization else { return "recipe: none recorded (not a quantized file)" }
        let stored = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var table = TextTable(header: ["tensor", "shape", "from", "to", "bytes", "rmse", "snr dB", "note"])
        table.rightAligned = [4, 5, 6]
        for t in q.tensors {
            let bytes = stored[t.name].map { $0.storedByteCount == $0.byteCount ? "\($0.byteCount)" : "\($0.storedByteCount) (\($0.byteCount) raw)" } ?? "-"
            table.add([t.name, t.shape.map(String.init).joined(separator: "×"), t.sourceDType, stored[t.name]?.dtype.description ?? t.dtype, bytes,
                       t.rmse.map { $0 == 0 ? "0" : String(format: "%.3g", $0) } ?? "-",
                       t.snrDB.map { Format.fixed($0, 1) } ?? (t.rmse == 0 ? "exact" : "-"), t.reason ?? ""])
        }
        let rules = q.recipe.rules.map { "\($0.pattern)=\($0.type)" }.joined(separator: ", ")
        return "recipe: \(q.recipe.type)\(q.recipe.group.map { ", group \($0)" } ?? "")\(rules.isEmpty ? "" : ", rules: \(rules)")\n"
            + table.render()
    }
}
