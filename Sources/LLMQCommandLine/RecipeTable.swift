import LLMQ

/// The per-tensor quantization table that `quantize` prints after writing and `inspect` shows
/// for a container: what each tensor became, from what, its stored size, error and fallback reason.
enum RecipeTable {
    /// A container's record. - Parameter tensors: the file's tensors, for their stored and raw sizes.
    static func render(_ quantization: ContainerMetadata.Quantization?, tensors: [Tensor]) -> String {
        guard let q = quantization else { return "recipe: none recorded (not a quantized file)" }
        let stored = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        return render(q.recipe, q.tensors.map { t in
            let file = stored[t.name]
            return row(t.name, t.shape, from: t.sourceDType, to: file?.dtype.description ?? t.dtype,
                       bytes: file.map { ($0.byteCount, $0.storedByteCount) }, rmse: t.rmse, snrDB: t.snrDB, reason: t.reason)
        })
    }

    /// What `quantize` wrote.
    static func render(_ result: QuantizeResult) -> String {
        render(result.recipe, result.tensors.map { t in
            row(t.name, t.shape, from: t.from, to: t.to, bytes: (t.bytes, t.storedBytes), rmse: t.rmse, snrDB: t.snrDB, reason: t.reason)
        })
    }

    private static func render(_ recipe: ContainerMetadata.Recipe, _ rows: [[String]]) -> String {
        var table = TextTable(header: ["tensor", "shape", "from", "to", "bytes", "rmse", "snr dB", "note"])
        table.rightAligned = [4, 5, 6]
        for row in rows { table.add(row) }
        let rules = recipe.rules.map { "\($0.pattern)=\($0.type)" }.joined(separator: ", ")
        return "recipe: \(recipe.type)\(recipe.group.map { ", group \($0)" } ?? "")\(rules.isEmpty ? "" : ", rules: \(rules)")\n"
            + table.render()
    }

    private static func row(_ name: String, _ shape: [Int], from: String, to: String, bytes: (raw: Int, stored: Int)?, rmse: Double?,
                            snrDB: Double?, reason: String?) -> [String] {
        [name, shape.map(String.init).joined(separator: "×"), from, to,
         bytes.map { $0.stored == $0.raw ? "\($0.raw)" : "\($0.stored) (\($0.raw) raw)" } ?? "-",
         rmse.map { $0 == 0 ? "0" : String(format: "%.3g", $0) } ?? "-",
         snrDB.map { Format.fixed($0, 1) } ?? (rmse == 0 ? "exact" : "-"), reason ?? ""]
    }
}
