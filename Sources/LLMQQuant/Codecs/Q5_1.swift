import LLMQCore

/// ggml Q5_1, 32 elements in 24 bytes: fp16 scale d, fp16 minimum m, uint32 qh (fifth bits),
/// 16 bytes of low nibbles laid out as in Q5_0. x = d · q + m, q in 0…31. Read only.
public struct Q5_1Decoder: BlockDecoder {
    public let kind = DType.Kind.q5_1
    public init() {}

    public func dequantize(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>, blockSize: Int) {
        guard let base = src.baseAddress, let out = dst.baseAddress else { return }
        for b in 0..<dst.count / 32 {
            let block = base + b * 24
            let d = Half.load(block, 0)
            let m = Half.load(block, 2)
            let qh = block.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            let y = out + b * 32
            for j in 0..<16 {
                let byte = block.load(fromByteOffset: 8 + j, as: UInt8.self)
                let lo = UInt32(byte & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let hi = UInt32(byte >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = d * Float(lo) + m
                y[j + 16] = d * Float(hi) + m
            }
        }
    }
}
