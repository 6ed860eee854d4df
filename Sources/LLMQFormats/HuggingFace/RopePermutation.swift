import LLMQCore

/// The row order of Q and K projections. RoPE rotates pairs of a head's dimensions: llama2.c and
/// GGUF (llmq's canonical layout) pair neighbours `(2i, 2i+1)`, Hugging Face's rotate-half code
/// pairs `(i, i + head_dim/2)`. Its checkpoints therefore store each head's rows in the order
/// "first members of all pairs, then second members": HF row `h·hd + j·hd/2 + i` is canonical row
/// `h·hd + 2i + j` (`j` ∈ {0, 1}). Permuting rows, whatever their dtype, converts between the two.
public enum RopePermutation {
    public enum Direction: Sendable {
        /// Hugging Face → canonical (reading a checkpoint).
        case toInterleaved
        /// Canonical → Hugging Face (writing one).
        case toRotateHalf
    }

    /// Reorders the rows of a `[heads · headDim, cols]` matrix of `rowBytes` bytes per row.
    public static func apply(_ source: UnsafeRawBufferPointer, heads: Int, headDim: Int, rowBytes: Int,
                             _ direction: Direction) throws -> [UInt8] {
        let rows = heads.multipliedReportingOverflow(by: headDim)
        let bytes = rows.partialValue.multipliedReportingOverflow(by: rowBytes)
        guard heads > 0, headDim > 0, headDim % 2 == 0, rowBytes >= 0, !rows.overflow, !bytes.overflow,
              source.count == bytes.partialValue
        else {
            throw LLMQError(.invalid, "cannot permute \(source.count) bytes as \(heads) heads of \(headDim) rows of \(rowBytes) bytes")
        }
        let half = headDim / 2
        return [UInt8](unsafeUninitializedCapacity: source.count) { out, count in
            guard let src = source.baseAddress, let dst = out.baseAddress else { count = 0; return }
            for h in 0..<heads {
                for i in 0..<half {
                    for j in 0..<2 {
                        let interleaved = h * headDim + 2 * i + j
                        let rotateHalf = h * headDim + j * half + i
                        let (from, to) = direction == .toInterleaved ? (rotateHalf, interleaved) : (interleaved, rotateHalf)
                        UnsafeMutableRawPointer(dst + to * rowBytes).copyMemory(from: src + from * rowBytes, byteCount: rowBytes)
                    }
                }
            }
            count = source.count
        }
    }
}
