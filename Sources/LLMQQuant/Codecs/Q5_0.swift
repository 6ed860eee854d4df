import LLMQCore

/// ggml Q5_0, 32 elements in 22 bytes: fp16 scale d, uint32 qh (the fifth bit of each element),
/// 16 bytes of low nibbles (elements 0…15 in the low halves, 16…31 in the high halves).
/// x = d · (q − 16), q in 0…31. Read only: llmq does not write Q5_0.
public struct Q5_0Decoder: BlockDecoder {
    public let kind = DType.Kind.q5_0
    public init() {}

    public func dequantize(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>, blockSize: Int) {
        guard let base = src.baseAddress, let out = dst.baseAddress else { return }
        for b in 0..<dst.count / 32 {
            let block = base + b * 22
            let d = Half.load(block, 0)
            let qh = block.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
            let y = out + b * 32
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 6 + j, as: UInt8.self)
                let lo = Int32(byte & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
                let hi = Int32(byte >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float(lo - 16)
                y[j + 16] = d * Float(hi - 16)
            }
        }
    }
}
