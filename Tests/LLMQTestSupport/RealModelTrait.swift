import Testing

extension Trait where Self == ConditionTrait {
    /// Tests on SmolLM2-135M-Instruct run with LLMQ_SMOLLM2=1 and are skipped, saying so, without it.
    public static var smolLM2: Self {
        .enabled(if: Fixtures.smolLM2Enabled,
                 "needs SmolLM2-135M-Instruct: run with LLMQ_SMOLLM2=1 (scripts/fetch-smollm2 downloads it, ~90 MB, once)")
    }
}
