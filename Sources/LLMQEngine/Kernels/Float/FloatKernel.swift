import LLMQCore

/// A plain float type the engine multiplies in place: a row's dot product with an fp32 vector.
/// Conformances live beside the kernels; `MatVec` finds them through the registry.
protocol FloatKernel: BlockType {
    static func dot(_ row: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float
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

/// Calls a visitor with the float kernel of a dtype, specialised.
protocol FloatKernelVisitor {
    func visit<K: FloatKernel>(_ kernel: K.Type)
}

enum FloatKernels {
    static func supports(_ dtype: DType) -> Bool { dtype.type is any FloatKernel.Type }

    static func visit(_ dtype: DType, _ visitor: some FloatKernelVisitor) {
        guard let kernel = dtype.type as? any FloatKernel.Type else {
            preconditionFailure("no kernel for \(dtype); the loader must expand it")
        }
        func open<K: FloatKernel>(_: K.Type) { visitor.visit(K.self) }
        open(kernel)
    }
}
