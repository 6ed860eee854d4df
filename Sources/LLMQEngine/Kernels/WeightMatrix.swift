import LLMQCore

/// A weight matrix as the kernels see it: `rows` rows of `cols` elements in `dtype`, each row
/// `rowBytes` long, starting at `data` (usually inside a memory map).
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let cols: Int
    public let dtype: DType
    public let data: UnsafeRawPointer
    public var rowBytes: Int { cols / dtype.blockSize * dtype.blockBytes }

    public init(rows: Int, cols: Int, dtype: DType, data: UnsafeRawPointer) {
        self.rows = rows
        self.cols = cols
        self.dtype = dtype
        self.data = data
    }

    public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }
}
