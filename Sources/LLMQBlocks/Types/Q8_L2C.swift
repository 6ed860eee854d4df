/// llama2.c's version-2 export (`export.py --version 2`): all int8 values of the tensor, then one
/// fp32 scale per group of n (64 by default) consecutive values, groups running across rows;
/// x = q · scale. Read as stored; written by the llama2.c writer, which holds the whole tensor.
public enum Q8_L2C: BlockType {
    public static let name = "q8_l2c"
    public static let blockSize = 64
    public static let containerCode: UInt32 = 256
    public static let spansRows = true
    public static func blockBytes(groupSize n: Int) -> Int { n + 4 }
    public static func accepts(groupSize n: Int) -> Bool { n > 0 }

    public static func decode(_ data: UnsafeRawBufferPointer, elements: Range<Int>, groupSize n: Int, into y: UnsafeMutablePointer<Float>) {
        guard let base = data.baseAddress else { return }
        let total = data.count / (n + 4) * n
        let q = base.assumingMemoryBound(to: Int8.self)
        for i in elements {
            let scale = base.loadUnaligned(fromByteOffset: total + (i / n) * 4, as: Float.self)
            y[i - elements.lowerBound] = Float(q[i]) * scale
        }
    }
}
