import Foundation
import LLMQCore
import LLMQEngine
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import LLMQVerify
import Testing

@Suite("verification")
struct VerificationTests {
    @Test("a model against itself: KLD exactly 0, 100 % top-1 and top-5, no PPL change, no tensor differs")
    func identical() throws {
        let model = try Harness.stories260K()
        let c = try Harness.compare(model, try Harness.stories260K(), ctx: 128, chunks: 3)
        #expect(c.kld.mean.value == 0 && c.kld.max == 0)
        #expect(c.sameTopPercent.value == 100 && c.top5OverlapPercent.value == 100)
        #expect(c.pplDelta.value == 0 && c.lnPPLRatio.value == 0 && c.deltaPRMSPercent.value == 0)
        #expect(c.referencePPL == c.candidatePPL)
        #expect(try WeightComparison.compare(reference: model, candidate: Harness.stories260K()).isEmpty)
        let gates = Gates(maxKLD: 0, maxPPLIncreasePercent: 0, minTop1Percent: 100).check(c)
        #expect(gates.count == 3 && gates.allSatisfy(\.passed))
    }

    @Test("one zeroed tensor fails every gate and tops the weight-error list at 0 dB")
    func damaged() throws {
        let model = try Harness.stories260K()
        let damaged = try ModelViews.zeroed(model, "blk.2.ffn_down.weight")
        let c = try Harness.compare(model, damaged, ctx: 128, chunks: 3)
        #expect(c.kld.mean.value > 0.01)
        let gates = Gates(maxKLD: 0.01, maxPPLIncreasePercent: 1, minTop1Percent: 95).check(c)
        #expect(gates.map(\.passed) == [false, false, false], "\(gates.map(\.description))")
        let errors = try WeightComparison.compare(reference: model, candidate: damaged)
        #expect(errors.map(\.name) == ["blk.2.ffn_down.weight"])
        #expect(abs(errors[0].snrDB) < 1e-9)
        let values = try Dequantize.tensor(model, named: "blk.2.ffn_down.weight")
        let sumOfSquares: Double = values.reduce(0) { $0 + Double($1) * Double($1) }
        let rms = (sumOfSquares / Double(values.count)).squareRoot()
        #expect(Harness.close(errors[0].rmse, rms, relative: 1e-9))
    }

    @Test("every statistic matches an independent numpy implementation", arguments: [false, true])
    func againstNumpy(scoreAll: Bool) throws {
        let dir = try Fixtures.scratch()
        let model = try Harness.stories260K()
        let candidatePath = dir + "/rounded.bin"
        try Llama2CWriter.write(ModelViews.rounded(model, mantissaBits: 5), to: candidatePath, version: 0)
        let candidate = try ModelFile.open(candidatePath, tokenizerPath: Fixtures.tok512)
        let ctx = 48, chunks = 3
        let c = try Harness.compare(model, candidate, ctx: ctx, chunks: chunks, scoreAll: scoreAll)
        let tokens = try Harness.tokens(model).prefix(ctx * chunks).map(String.init).joined(separator: ",")
        let script = Fixtures.repoRoot.appendingPathComponent("scripts/reference/verify_numpy.py").path
        let r = try Fixtures.run("/usr/bin/env", ["python3", script, Fixtures.stories260K, candidatePath, tokens, "--ctx", "\(ctx)",
                                                  "--chunks", "\(chunks)"] + (scoreAll ? ["--score-all"] : []))
        try #require(r.status == 0, "numpy reference failed: \(r.stderr)")
        let py = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        func pair(_ key: String) -> (Double, Double) {
            let v = py[key] as! [Double]
            return (v[0], v[1])
        }
        func scalar(_ key: String) -> Double { py[key] as! Double }
        // Both run fp32 models; per-token values differ in the last float bits, so means agree to
        // ~1e-5 relative and the tiny KLDs to a few 1e-3 of themselves.
        func expectEstimate(_ e: Estimate, _ key: String, _ relative: Double, absolute: Double = 1e-9) {
            let (v, u) = pair(key)
            #expect(Harness.close(e.value, v, relative: relative, absolute: absolute), "\(key): \(e.value) vs numpy \(v)")
            #expect(Harness.close(e.uncertainty, u, relative: 2 * relative, absolute: absolute), "\(key) ±: \(e.uncertainty) vs numpy \(u)")
        }
        #expect(c.scoredTokens == py["scored"] as! Int)
        expectEstimate(c.referencePPL, "ppl_ref", 1e-5)
        expectEstimate(c.candidatePPL, "ppl_cand", 1e-5)
        expectEstimate(c.pplDelta, "ppl_delta", 1e-2, absolute: 1e-5)
        expectEstimate(c.lnPPLRatio, "ln_ratio", 1e-2, absolute: 1e-6)
        expectEstimate(c.kld.mean, "kld_mean", 5e-3, absolute: 1e-7)
        #expect(Harness.close(c.kld.median, scalar("kld_median"), relative: 1e-2, absolute: 1e-7))
        #expect(Harness.close(c.kld.p90, scalar("kld_p90"), relative: 1e-2, absolute: 1e-7))
        #expect(Harness.close(c.kld.p99, scalar("kld_p99"), relative: 1e-2, absolute: 1e-7))
        #expect(Harness.close(c.kld.max, scalar("kld_max"), relative: 1e-2, absolute: 1e-7))
        expectEstimate(c.sameTopPercent, "same_top", 0)
        expectEstimate(c.top5OverlapPercent, "top5", 0)
        expectEstimate(c.deltaPMeanPercent, "dp_mean", 1e-2, absolute: 1e-5)
        expectEstimate(c.deltaPRMSPercent, "dp_rms", 1e-3, absolute: 1e-6)
        #expect(Harness.close(c.nllCorrelation, scalar("nll_correlation"), relative: 1e-6))
        #expect(Harness.close(c.probabilityCorrelation, scalar("p_correlation"), relative: 1e-6))
        #expect(c.kld.mean.value > 1e-5, "the rounded candidate should differ measurably")
    }

    @Test("stories260K.gguf (llama.cpp's file, its own vocabulary) is the same model with the same tokenizer as the .bin")
    func ggufAgainstLlama2C() throws {
        let model = try Harness.stories260K(), gguf = try ModelFile.open(Fixtures.stories260KGGUF)
        let identity = { (m: Model) in TokenizerIdentity.fingerprint(try Tokenizers.make(try #require(m.tokenizer))) }
        #expect(try identity(gguf) == identity(model))
        let c = try Harness.compare(model, gguf, ctx: 128, chunks: 2)
        #expect(c.kld.max == 0 && c.sameTopPercent.value == 100)
        #expect(try WeightComparison.compare(reference: model, candidate: gguf).isEmpty)
    }

    @Test("any format llmq reads: stories260K as Hugging Face safetensors verifies with KLD 0 in f32, and closely in f16 on its own kernel")
    func acrossFormats() throws {
        let dir = try Fixtures.scratch()
        let model = try Harness.stories260K()
        try SafetensorsWriter.write(model, to: dir + "/f32.safetensors")
        try SafetensorsWriter.write(model, to: dir + "/f16.safetensors", options: SafetensorsWriter.Options(floatType: .f16))
        let f32 = try ModelFile.open(dir + "/f32.safetensors"), f16 = try ModelFile.open(dir + "/f16.safetensors")
        let identity = { (m: Model) in TokenizerIdentity.fingerprint(try Tokenizers.make(try #require(m.tokenizer))) }
        #expect(try identity(f32) == identity(model))
        #expect(f16.tensors.contains { $0.dtype == .f16 })
        let exact = try Harness.compare(model, f32, ctx: 128, chunks: 2)
        #expect(exact.kld.max == 0 && exact.sameTopPercent.value == 100)
        let half = try Harness.compare(model, f16, ctx: 128, chunks: 2)
        #expect(half.kld.mean.value > 0 && half.kld.mean.value < 1e-4)
        #expect(half.sameTopPercent.value > 99)
    }

    /// Native integer kernels also quantize the activations (to q8 blocks, as llama.cpp does), so
    /// they differ from the fp32 simulation by about as much as q8_0 weights differ from fp32
    /// (KLD ≈ 0.0004 on stories260K for every block type); fp16 differs only by rounding.
    @Test("--simulate (fp32 from dequantized weights) agrees closely with the candidate's own kernels",
          arguments: [("f16", 1e-6, 99.9), ("q8_0", 1e-3, 97.0), ("q4_0", 1e-3, 97.0), ("q4_1", 1e-3, 97.0)])
    func simulateAgreesWithNative(dtype: String, maxKLD: Double, minTop1: Double) throws {
        let model = try Harness.stories260K()
        let candidate = dtype == "f16" ? try ModelViews.f16Matrices(model)
            : try Quantizer.view(of: model, plan: QuantizationRecipe(base: try #require(DType(name: dtype))).plan(for: model))
        let tokens = try Harness.tokens(model)
        let plan = try Harness.plan(tokens, ctx: 128, chunks: 6)
        let c = try Verification.compare(reference: .model(Harness.runner(candidate, plan, simulate: true)),
                                         candidate: Harness.runner(candidate, plan), tokens: tokens, plan: plan)
        #expect(abs(c.kld.mean.value) < maxKLD, "KLD(simulated ‖ native) \(c.kld.mean.value)")
        #expect(c.sameTopPercent.value >= minTop1)
        #expect(abs(c.lnPPLRatio.value) < 10 * maxKLD)
    }

    @Test("reference and candidate must agree on vocabulary and block size")
    func mismatches() throws {
        let model = try Harness.stories260K()
        let tokens = try Harness.tokens(model)
        let plan = try Harness.plan(tokens, ctx: 64, chunks: 1)
        let other = try SyntheticModel.make(config: ModelConfig(dim: 64, hiddenDim: 96, layerCount: 1, headCount: 8, kvHeadCount: 4,
                                                                vocabSize: 600, contextLength: 512), seed: 1)
        #expect(throws: LLMQError.self) {
            try Verification.compare(reference: .model(Harness.runner(model, plan)), candidate: Harness.runner(other, plan),
                                     tokens: tokens, plan: plan)
        }
        #expect(throws: LLMQError.self) {
            try Verification.compare(reference: .model(Harness.runner(model, plan, batch: 1)), candidate: Harness.runner(model, plan),
                                     tokens: tokens, plan: plan)
        }
    }
}
