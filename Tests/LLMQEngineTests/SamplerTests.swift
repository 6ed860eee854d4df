import LLMQEngine
import Testing

@Suite("Sampler")
struct SamplerTests {
    @Test("xorshift* produces run.c's sequence")
    func rng() {
        // State after one step from seed 1, computed by hand from run.c's shifts (12, 25, 27).
        var r = XorShiftRNG(seed: 1)
        var s: UInt64 = 1
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27
        #expect(r.nextU32() == UInt32(truncatingIfNeeded: (s &* 0x2545_F491_4F6C_DD1D) >> 32))
        let f = r.nextFloat()
        #expect(f >= 0 && f < 1)
    }

    @Test("greedy takes the first maximum; top-p never picks outside the nucleus")
    func sampling() {
        var logits: [Float] = [0, 3, 3, 1]
        var greedy = Sampler(vocabSize: 4, temperature: 0, topP: 0.9, seed: 1)
        #expect(logits.withUnsafeMutableBufferPointer { greedy.sample($0) } == 1)
        var nucleus = Sampler(vocabSize: 4, temperature: 1, topP: 0.5, seed: 42)
        for _ in 0..<200 {
            logits = [0, 5, 0.1, 0]
            // p(1) ≈ 0.97 exceeds 0.5 alone, so the nucleus is {1}.
            #expect(logits.withUnsafeMutableBufferPointer { nucleus.sample($0) } == 1)
        }
        var full = Sampler(vocabSize: 4, temperature: 1, topP: 1, seed: 42)
        var seen = Set<Int>()
        for _ in 0..<400 {
            logits = [1, 1, 1, 1]
            seen.insert(logits.withUnsafeMutableBufferPointer { full.sample($0) })
        }
        #expect(seen == [0, 1, 2, 3])
    }
}
