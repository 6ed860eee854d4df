import LLMQCore

/// A plain float type the engine multiplies in place: a row's dot product with an fp32 vector.
/// Conformances live beside the kernels; `MatVec` finds them through the registry.
protocol FloatKernel: BlockType {
    static func dot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float
    /// The product of rows of one matrix with every input. A requirement so that each
    /// conformance's witness is specialised for its type and inlines its `dot`: called on a type
    /// opened from the registry, a generic loop would call `dot` through the witness table.
    static func rows() -> FloatRows
}

/// Rows `rows` of one matrix times `count` fp32 inputs (`count × w.cols`) into y (`count × w.rows`).
typealias FloatRows = (_ w: WeightMatrix, _ rows: Range<Int>, _ x: UnsafePointer<Float>, _ count: Int,
                       _ y: UnsafeMutablePointer<Float>) -> Void

extension FloatKernel {
    static func rows() -> FloatRows {
        { w, rows, x, count, y in
            let cols = w.cols
            if count == 1 {
                for r in rows { y[r] = dot(w.row(r), x, cols) }
                return
            }
            for r in rows {
                let row = w.row(r)
                for t in 0..<count { y[t * w.rows + r] = dot(row, x + t * cols, cols) }
            }
        }
    }
}

extension F32: FloatKernel {
    @inline(__always)
    static func dot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { DotF32.dot(row, x, n) }
}

extension F16: FloatKernel {
    @inline(__always)
    static func dot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { DotF32.dotF16(row, x, n) }
}

extension BF16: FloatKernel {
    @inline(__always)
    static func dot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float { DotF32.dotBF16(row, x, n) }
}

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
