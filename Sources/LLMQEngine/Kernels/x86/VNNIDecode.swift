#if arch(x86_64) && !PortableKernels
import CAVX512
import LLMQCore

/// Matrix–vector products at the `avx512vnni` level: `CAVX512`'s `llmq_vnni_decode` reads the
/// blocks of q8_0, q4_0, q5_0 (at their own group of 32), q4_K and q6_K in place, two sub-blocks
/// per 512-bit `vpdpbusd`. The other types and groups decode with the AVX2 tiles.
enum VNNIDecode<K: BlockKernel, G: GroupSize> {
    /// The C kernel of K at group G, if there is one (a constant in each specialisation).
    static var type: llmq_decode_type? {
        if G.subBlocks == 1 {
            if K.self == Q8_0.self { return llmq_decode_q8_0 }
            if K.self == Q4_0.self { return llmq_decode_q4_0 }
            if K.self == Q5_0.self { return llmq_decode_q5_0 }
        }
        if G.subBlocks == 8 {
            if K.self == Q4_K.self { return llmq_decode_q4_K }
            if K.self == Q6_K.self { return llmq_decode_q6_K }
        }
        return nil
    }

    /// y[r] = row r · x_0 for `rows`; false if K at G has no kernel here.
    static func multiply(_ w: WeightMatrix, rows: Range<Int>, _ x: QuantizedActivations, _ y: UnsafeMutablePointer<Float>) -> Bool {
        guard let type else { return false }
        var activations = x.vnni
        llmq_vnni_decode(type, w.row(rows.lowerBound), w.rowBytes, rows.count, &activations, y + rows.lowerBound)
        return true
    }
}

extension QuantizedActivations {
    /// The view `CAVX512`'s kernels take.
    var vnni: llmq_activations {
        llmq_activations(quants: quants, scales: scales, sums: sums, low_sums: lowSums, high_sums: highSums,
                         integer_sums: integerSums, blocks_per_vector: blocksPerVector)
    }
}
#endif
