import LLMQCore

/// A plain float type the engine multiplies in place, widening its elements as they are loaded:
/// fp16 and bf16 weights stay as the file stores them. Conformances live beside the kernels;
/// `MatVec` finds them through the registry.
protocol FloatKernel: BlockType {
    associatedtype Lanes: FloatLanes
    /// The product of rows of one matrix with every input. A requirement so that each
    /// conformance's witness is specialised for its type and inlines its loads: called on a type
    /// opened from the registry, a generic loop would load through the witness table.
    static func rows() -> FloatRows
}

/// Rows `rows` of one matrix times `count` fp32 inputs (`count × w.cols`) into y (`count × w.rows`).
typealias FloatRows = (_ w: WeightMatrix, _ rows: Range<Int>, _ x: UnsafePointer<Float>, _ count: Int,
                       _ y: UnsafeMutablePointer<Float>) -> Void

extension FloatKernel {
    static func rows() -> FloatRows {
        { w, rows, x, count, y in
            if count == 1 {
                for r in rows { y[r] = FloatDot.dot(Lanes.self, w.row(r), x, w.cols) }
            } else {
                BatchedFloat.multiply(Lanes.self, w, x, count: count, y, rows: rows)
            }
        }
    }
}

extension F32: FloatKernel { typealias Lanes = F32Lanes }
extension F16: FloatKernel { typealias Lanes = F16Lanes }
extension BF16: FloatKernel { typealias Lanes = BF16Lanes }

enum FloatKernels {
    static func supports(_ dtype: DType) -> Bool { dtype.type is any FloatKernel.Type }

    /// The kernel of a supported dtype.
    static func kernel(_ dtype: DType) -> any FloatKernel.Type {
        guard let kernel = dtype.type as? any FloatKernel.Type else {
            preconditionFailure("no kernel for \(dtype); the loader must expand it")
        }
        return kernel
    }
}
