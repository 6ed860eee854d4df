import LLMQCore

/// Everything `llmq verify` reports, as its `--json` output and the golden files hold it.
public struct VerifyReport: Codable, Sendable {
    public struct Side: Codable, Sendable {
        public var path: String
        public var format: String
        /// Elements per stored dtype.
        public var dtypes: [String: Int]
        /// For the candidate: "native kernels" or "simulated (fp32 from dequantized weights)".
        public var mode: String?

        public init(path: String, format: String, dtypes: [String: Int] = [:], mode: String? = nil) {
            self.path = path
            self.format = format
            self.dtypes = dtypes
            self.mode = mode
        }

        public init(model: Model, path: String, mode: String? = nil) {
            var dtypes: [String: Int] = [:]
            for t in model.tensors { dtypes[t.dtype.description, default: 0] += t.elementCount }
            self.init(path: path, format: model.format.description, dtypes: dtypes, mode: mode)
        }
    }

    public var reference: Side
    public var candidate: Side
    public var text: String?
    public var plan: EvaluationPlan
    public var scoring: String
    public var comparison: LogitComparison
    /// Tensors whose values differ, lowest SNR first; nil when the reference is a saved-logits file.
    public var tensors: [TensorDifference]?
    public var gates: [Gates.Result]
    public var passed: Bool
    /// Wall-clock time of the comparison run and the text positions it evaluated per second (each
    /// through the candidate and a live reference); nil in golden files, which must not change
    /// from run to run.
    public var seconds: Double?
    public var tokensPerSecond: Double?

    public init(reference: Side, candidate: Side, text: String?, plan: EvaluationPlan, comparison: LogitComparison,
                tensors: [TensorDifference]?, gates: Gates, seconds: Double?) {
        self.reference = reference
        self.candidate = candidate
        self.text = text
        self.plan = plan
        scoring = plan.protocolDescription
        self.comparison = comparison
        self.tensors = tensors
        self.gates = gates.check(comparison)
        passed = self.gates.allSatisfy(\.passed)
        self.seconds = seconds
        let positions = Double(plan.chunkCount * plan.evaluatedPerChunk)
        tokensPerSecond = seconds.map { $0 > 0 ? positions / $0 : 0 }
    }
}
