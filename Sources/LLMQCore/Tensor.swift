/// One named tensor of a model, as a file stores it. Shapes are outermost first (numpy order):
/// a weight matrix is `[rows = output features, cols = input features]` and each row is contiguous.
public struct Tensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var dtype: DType
    /// Which of the model's files holds the stored bytes (sharded checkpoints have several).
    public var fileIndex: Int
    /// Byte range of the stored bytes in that file.
    public var offset: Int
    public var storedByteCount: Int
    /// Turns stored bytes into the tensor's logical bytes (`byteCount` of them, in `dtype`):
    /// zstd decompression, a RoPE permutation, a byte swap. Nil when the stored bytes are the data.
    public var decode: (@Sendable (UnsafeRawBufferPointer) throws -> [UInt8])?
    /// A short label for what `decode` does, for `inspect` (e.g. "zstd").
    public var encoding: String?
    /// Checks the stored bytes before their first use (a checksum); throws when they are corrupt.
    public var verify: (@Sendable (UnsafeRawBufferPointer) throws -> Void)?
    /// Produces what `decode` does in pieces of whole rows, so that a writer never holds the whole
    /// tensor (`Model.stream`); nil: the tensor is decoded whole.
    public var stream: Stream?
    /// Set when `decode` only reorders rows, to say how the stored rows are ordered: a consumer that
    /// can work in that order (the engine rotating Q/K in halves) uses the stored bytes in place
    /// instead of a decoded copy.
    public var storedRowOrder: StoredRowOrder?

    public enum StoredRowOrder: Sendable, Equatable {
        /// A Q or K projection in Hugging Face's rotate-half order: each head's rows hold the first
        /// members of RoPE's pairs, then the second members (llmq's canonical order interleaves them).
        case rotateHalf(headDim: Int)
    }

    /// Calls `sink` with consecutive pieces of the logical bytes, given the stored bytes: whole
    /// rows, about `rows` per piece (a producer may cut its own sizes; a consumer that needs
    /// fixed groups re-cuts them with `RowRegrouper`).
    public typealias Stream = @Sendable (_ stored: UnsafeRawBufferPointer, _ rows: Int,
                                         _ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void

    public init(name: String, shape: [Int], dtype: DType, fileIndex: Int = 0, offset: Int, storedByteCount: Int,
                encoding: String? = nil, decode: (@Sendable (UnsafeRawBufferPointer) throws -> [UInt8])? = nil,
                verify: (@Sendable (UnsafeRawBufferPointer) throws -> Void)? = nil, stream: Stream? = nil) {
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.fileIndex = fileIndex
        self.offset = offset
        self.storedByteCount = storedByteCount
        self.encoding = encoding
        self.decode = decode
        self.verify = verify
        self.stream = stream
    }

    public var elementCount: Int { shape.reduce(1, *) }
    /// Size of the logical data; shapes were validated by the reader, so this cannot fail.
    public var byteCount: Int { dtype.byteCount(shape: shape) ?? 0 }
    public var rows: Int { shape.count <= 1 ? 1 : shape.dropLast().reduce(1, *) }
    public var cols: Int { shape.last ?? 1 }
    /// Bytes of one row of the logical data.
    public var rowBytes: Int { rows > 0 ? byteCount / rows : 0 }
    /// Rows in about `bytes` of logical data (at least one): a streaming writer's piece.
    public func pieceRows(bytes: Int = 1 << 22) -> Int { max(1, bytes / max(rowBytes, 1)) }
}

/// Bytes of a file that are not tensor data: headers, metadata, padding, unused tables.
/// Readers list them so `inspect` can account for every byte.
public struct Region: Codable, Sendable, Equatable {
    public var name: String
    public var offset: Int
    public var length: Int
    public var fileIndex: Int

    public init(name: String, offset: Int, length: Int, fileIndex: Int = 0) {
        self.name = name
        self.offset = offset
        self.length = length
        self.fileIndex = fileIndex
    }
}
