#if canImport(Glibc)
import Glibc
#endif
import LLMQCore
import LLMQQuant

/// How far one tensor of the candidate is from the reference's, both expanded to fp32.
public struct TensorDifference: Codable, Sendable, Equatable {
    public var name: String
    public var referenceDType: String
    public var candidateDType: String
    public var elements: Int
    /// √mean((candidate − reference)²).
    public var rmse: Double
    /// 10·log10(Σ reference² / Σ (candidate − reference)²); higher is better.
    public var snrDB: Double
}

public enum WeightComparison {
    /// Every tensor both models have with the same shape whose values differ, lowest SNR first.
    /// Byte-identical tensors of the same dtype are skipped; the others are expanded a piece of rows
    /// at a time. Decoded copies stay cached (an engine running the model may point into them).
    public static func compare(reference: Model, candidate: Model) throws -> [TensorDifference] {
        var errors: [TensorDifference] = []
        for ref in reference.tensors {
            guard let cand = candidate[ref.name], cand.shape == ref.shape else { continue }
            // The reference is only streamed (`Dequantize.chunks`): `data` would decode a whole copy
            // of each permuted Hugging Face Q/K tensor, 2 GB over a 7B model.
            let candBytes = try candidate.data(cand)
            if ref.dtype == cand.dtype, try reference.data(ref).elementsEqual(candBytes) { continue }
            var signal = 0.0, noise = 0.0
            let candValues = UnsafeMutablePointer<Float>.allocate(capacity: max(min(1 << 20, ref.elementCount), ref.cols, 1))
            defer { candValues.deallocate() }
            do {
                try Dequantize.chunks(reference, ref) { range, values in
                    try Dequantize.elements(cand.dtype, from: candBytes, range: range, into: candValues)
                    for i in 0..<values.count {
                        let r = Double(values[i]), d = Double(candValues[i]) - r
                        signal += r * r
                        noise += d * d
                    }
                }
            } catch let e as LLMQError {
                throw e.forTensor(ref.name).inFile(candidate.path)
            }
            guard noise > 0 else { continue }
            errors.append(TensorDifference(name: ref.name, referenceDType: ref.dtype.description, candidateDType: cand.dtype.description,
                                      elements: ref.elementCount, rmse: (noise / Double(max(ref.elementCount, 1))).squareRoot(),
                                      snrDB: 10 * log10(signal / noise)))
        }
        return errors.sorted { $0.snrDB < $1.snrDB }
    }
}
