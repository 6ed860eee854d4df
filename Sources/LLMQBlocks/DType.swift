/// How a tensor's elements are stored: a block type and the number of elements per block (its
/// group size), always along the innermost axis. Plain types hold one element per block.
public struct DType: Hashable, Sendable, CustomStringConvertible {
    public let type: any BlockType.Type
    /// Elements per block: the type's own block size, or another group size it accepts.
    public let blockSize: Int

    public init(_ type: any BlockType.Type, blockSize: Int? = nil) {
        self.type = type
        self.blockSize = blockSize ?? type.blockSize
    }

    /// The same type with blocks of `size` elements.
    public func grouped(_ size: Int) -> DType { DType(type, blockSize: size) }

    public static func == (a: DType, b: DType) -> Bool {
        ObjectIdentifier(a.type) == ObjectIdentifier(b.type) && a.blockSize == b.blockSize
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(type))
        hasher.combine(blockSize)
    }

    /// The type's name, without a group suffix: `q4_0`.
    public var name: String { type.name }

    public var isBlockQuantized: Bool { type.blockSize > 1 }

    /// Bytes of one block (for plain types: of one element).
    public var blockBytes: Int { type.blockBytes(groupSize: blockSize) }

    public var bitsPerWeight: Double { Double(blockBytes * 8) / Double(blockSize) }

    public var isValidBlockSize: Bool { blockSize > 0 && type.accepts(groupSize: blockSize) }

    /// Bytes needed for `shape` (outermost first), or nil when the innermost axis is not a whole
    /// number of blocks or the size overflows. For types whose blocks span rows only the element
    /// count must divide.
    public func byteCount(shape: [Int]) -> Int? {
        var elements = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (r, o) = elements.multipliedReportingOverflow(by: d)
            if o { return nil }
            elements = r
        }
        if type.spansRows {
            guard elements % blockSize == 0 else { return nil }
        } else if blockSize > 1 {
            guard let inner = shape.last, inner % blockSize == 0 else { return nil }
        }
        let (bytes, o) = (elements / blockSize).multipliedReportingOverflow(by: blockBytes)
        return o ? nil : bytes
    }

    /// `q4_0`, or `q4_0_g64` for a group size other than the type's own.
    public var description: String {
        blockSize == type.blockSize ? name : "\(name)_g\(blockSize)"
    }

    /// A name as `description` writes it (any case), or nil for an unknown type or a group size
    /// the type does not take.
    public init?(name: String) {
        if let type = BlockTypes.named(name) {
            self.init(type)
            return
        }
        // "<type>_g<group>"
        guard let g = name.lastIndex(where: { $0 == "g" || $0 == "G" }), g > name.startIndex,
              name[name.index(before: g)] == "_", let group = Int(name[name.index(after: g)...]),
              let type = BlockTypes.named(String(name[..<name.index(before: g)]))
        else { return nil }
        self.init(type, blockSize: group)
        guard isValidBlockSize else { return nil }
    }
}

extension DType: Codable {
    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let t = DType(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown dtype \(name)"))
        }
        self = t
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
