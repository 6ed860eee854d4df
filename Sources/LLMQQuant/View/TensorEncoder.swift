import Dispatch
import LLMQBlocks
import LLMQCore

/// Re-encodes one tensor into another dtype, a piece of rows at a time: the source is streamed
/// (`Model.stream`), each piece's rows are split into chunks that the threads take in turn, and
/// each encoded piece goes to the caller before the next is read, so memory holds one piece of
/// the source and of the output, not the tensor. Each chunk is expanded to fp32 (fp32 sources are
/// read in place), encoded, expanded back and compared, so the error statistics cost one more
/// pass over data already in cache.
struct TensorEncoder {
    let threads: Int
    /// fp32 values per chunk: big enough to amortise the hand-off, small enough for L2.
    static let chunkElements = 1 << 16
    /// Source bytes per piece: enough chunks to keep every thread busy.
    static let pieceBytes = 8 << 20
    /// Rows per chunk with error feedback.
    static let feedbackRows = 64

    /// The whole tensor at once. `columnWeights` (one per column), when given, asks for the scale
    /// search weighted by them. `feedback`, when given and `dtype` can be rounded column by column
    /// (`ColumnwiseRoundable`), rounds with error feedback (GPTQ) instead.
    func encode(_ source: Model, _ tensor: Tensor, as dtype: DType, columnWeights: [Float]? = nil,
                feedback: ErrorFeedback? = nil) throws -> (bytes: [UInt8], error: TensorError) {
        var output: [UInt8] = []
        output.reserveCapacity(dtype.byteCount(shape: tensor.shape) ?? 0)
        let error = try stream(source, tensor, as: dtype, columnWeights: columnWeights, feedback: feedback) { output.append(contentsOf: $0) }
        return (output, error)
    }

    /// Hands the encoded tensor to `sink` in pieces of whole rows. The bytes and the error do not
    /// depend on the thread count or on how the source cuts its pieces: chunks are always the
    /// same rows, and their error sums are added up in chunk order.
    func stream(_ source: Model, _ tensor: Tensor, as dtype: DType, columnWeights: [Float]? = nil, feedback: ErrorFeedback? = nil,
                _ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> TensorError {
        guard dtype.byteCount(shape: tensor.shape) != nil else {
            throw LLMQError(.invalid, "rows of \(tensor.cols) are not a whole number of \(dtype) blocks", tensor: tensor.name)
        }
        let cols = tensor.cols
        var roundable: (ErrorFeedback, any ColumnwiseRoundable.Type)?
        if let feedback, feedback.width == cols, dtype.isValidBlockSize, let type = dtype.type as? any ColumnwiseRoundable.Type {
            roundable = (feedback, type)
        }
        // Error feedback reads its coefficients once per chunk: more rows share each pass.
        let rowsPerChunk = roundable != nil ? Self.feedbackRows : max(1, Self.chunkElements / max(cols, 1))
        let chunksPerPiece = max(1, Self.pieceBytes / max(rowsPerChunk * tensor.rowBytes, 1))
        // Blocks that run across rows (llama2.c's int8 groups) cannot be cut at rows: one piece.
        let whole = tensor.dtype.type.spansRows
        let pieceRows = whole ? max(tensor.rows, 1) : min(max(tensor.rows, 1), rowsPerChunk * chunksPerPiece)
        let outputRowBytes = cols / dtype.blockSize * dtype.blockBytes
        let chunkRows = min(rowsPerChunk, tensor.rows)
        let importance = columnWeights.map { w in (0..<chunkRows).flatMap { _ in w } }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: max(pieceRows * outputRowBytes, 1), alignment: 64)
        defer { output.deallocate() }
        var total = ErrorSums()
        var firstRow = 0
        func encodePiece(_ input: UnsafeRawBufferPointer, rows: Int) throws {
            let job = Job(input: input, inputDType: tensor.dtype, dtype: dtype, rows: rows, cols: cols, firstRow: firstRow,
                          rowsPerChunk: rowsPerChunk, importance: importance, feedback: roundable)
            // Per chunk, added up in chunk order afterwards: the error (which a container records)
            // must not depend on how many threads shared the chunks or which finished first.
            let sums = Locked([ErrorSums](repeating: ErrorSums(), count: job.chunks))
            let failure = Locked<LLMQError?>(nil)
            let out = UncheckedBuffer(UnsafeMutableRawBufferPointer(rebasing: output[0..<rows * outputRowBytes]))
            let parts = max(1, min(threads, job.chunks))
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 3 * job.rowsPerChunk * job.cols)
                defer { scratch.deallocate() }
                // Part p takes chunks p, p + parts, …: neighbouring threads work on neighbouring rows.
                for chunk in stride(from: part, to: job.chunks, by: parts) {
                    var local = ErrorSums()
                    do {
                        try job.run(chunk, into: out.buffer, scratch: scratch, sums: &local)
                    } catch {
                        let e = error as? LLMQError ?? LLMQError(.invalid, "\(error)")
                        failure.withLock { $0 = $0 ?? e }
                        return
                    }
                    sums.withLock { $0[chunk] = local }
                }
            }
            if let e = failure.withLock({ $0 }) { throw e.forTensor(tensor.name) }
            for chunk in sums.withLock({ $0 }) { total.merge(chunk) }
            try sink(UnsafeRawBufferPointer(out.buffer))
            firstRow += rows
        }
        if whole {
            try encodePiece(try source.data(tensor), rows: tensor.rows)
        } else {
            let rowBytes = tensor.rowBytes
            func next(_ input: UnsafeRawBufferPointer) throws { try encodePiece(input, rows: rowBytes > 0 ? input.count / rowBytes : 1) }
            let regroup = RowRegrouper(rowBytes: rowBytes, rows: pieceRows)
            try source.stream(tensor, rows: pieceRows) { try regroup.add($0, next) }
            try regroup.finish(next)
        }
        return total.result(name: tensor.name, dtype: dtype, count: tensor.elementCount)
    }
}

/// One piece of a tensor's encoding, split into chunks of whole rows that threads process
/// independently.
private struct Job: @unchecked Sendable {
    let input: UnsafeRawBufferPointer
    let inputDType: DType
    let dtype: DType
    let rows: Int
    let cols: Int
    /// The piece's first row in the tensor, for error messages.
    let firstRow: Int
    let rowsPerChunk: Int
    let chunks: Int
    /// The input itself when it is aligned fp32.
    let floats: UnsafePointer<Float>?
    /// The column weights repeated for a chunk's rows (every chunk starts at a row), or nil for
    /// the reference rounding.
    let importance: [Float]?
    /// The error-feedback rounding and the block type it drives, when asked for and the type allows it.
    let feedback: (ErrorFeedback, any ColumnwiseRoundable.Type)?

    init(input: UnsafeRawBufferPointer, inputDType: DType, dtype: DType, rows: Int, cols: Int, firstRow: Int, rowsPerChunk: Int,
         importance: [Float]?, feedback: (ErrorFeedback, any ColumnwiseRoundable.Type)?) {
        self.input = input
        self.inputDType = inputDType
        self.dtype = dtype
        self.rows = rows
        self.cols = cols
        self.firstRow = firstRow
        self.rowsPerChunk = rowsPerChunk
        chunks = (rows + rowsPerChunk - 1) / rowsPerChunk
        let aligned = input.baseAddress.map { Int(bitPattern: $0) % 4 == 0 } ?? false
        floats = inputDType == .f32 && aligned ? input.baseAddress!.assumingMemoryBound(to: Float.self) : nil
        self.importance = importance
        self.feedback = feedback
    }

    /// Encodes rows of `chunk` into their place in `output`; `scratch` holds three chunks of floats.
    func run(_ chunk: Int, into output: UnsafeMutableRawBufferPointer, scratch: UnsafeMutablePointer<Float>,
             sums: inout ErrorSums) throws {
        let first = chunk * rowsPerChunk, last = min(rows, first + rowsPerChunk)
        let elements = first * cols..<last * cols
        let rowBytes = cols / dtype.blockSize * dtype.blockBytes
        let encoded = UnsafeMutableRawBufferPointer(rebasing: output[first * rowBytes..<last * rowBytes])
        let values: UnsafePointer<Float>
        if let floats {
            values = floats + elements.lowerBound
        } else {
            try Dequantize.elements(inputDType, from: input, range: elements, into: scratch)
            values = UnsafePointer(scratch)
        }
        let restored = scratch + elements.count
        if let (feedback, type) = feedback {
            try Quantize.requireFinite(UnsafeBufferPointer(start: values, count: elements.count), as: dtype)
            feedback.quantize(values, rows: last - first, type: type, blockSize: dtype.blockSize, into: encoded.baseAddress!)
            try Quantize.checkParameters(UnsafeRawBufferPointer(encoded), dtype, type)
        } else {
            try encode(values, count: elements.count, into: encoded, first: firstRow * cols + elements.lowerBound)
        }
        try Dequantize.elements(dtype, from: UnsafeRawBufferPointer(encoded), range: 0..<elements.count, into: restored)
        sums.add(values, restored, elements.count)
    }

    /// The codec's own rounding (searched when there are importance weights).
    private func encode(_ values: UnsafePointer<Float>, count: Int, into encoded: UnsafeMutableRawBufferPointer, first: Int) throws {
        let elements = first..<first + count
        do {
            try importance.withOptionalBuffer(count: elements.count) { weights in
                try Quantize.elements(UnsafeBufferPointer(start: values, count: elements.count), as: dtype, into: encoded,
                                      importance: weights)
            }
        } catch let e as LLMQError {
            // Quantize counts elements from the chunk's start; say where they are in the tensor.
            throw LLMQError(e.kind, e.message + " (counting from element \(elements.lowerBound) of the tensor)")
        }
    }
}

/// The output buffer, shared by the worker threads: they write disjoint row ranges of it, and
/// the caller waits for all of them.
private struct UncheckedBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}

extension Optional where Wrapped == [Float] {
    /// The first `count` values as a buffer (nil when there is no array) for the duration of `body`.
    fileprivate func withOptionalBuffer<R>(count: Int, _ body: (UnsafeBufferPointer<Float>?) throws -> R) rethrows -> R {
        guard let array = self else { return try body(nil) }
        return try array.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[..<count])) }
    }
}
