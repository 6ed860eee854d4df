/// Every failure llmq reports to a user: a file, where in it, and what was wrong.
/// `description` is the one line the CLI prints.
public struct LLMQError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case io              // the OS refused (open, read, write, rename, mmap)
        case truncated       // the file ends before a structure it declares
        case badMagic        // not the format we were told or guessed
        case invalid         // a field holds a value that cannot be right
        case unsupported     // well-formed, but something llmq does not handle
        case integrity       // checksum or digest mismatch
        case usage           // the arguments do not make sense together
    }

    public var kind: Kind
    public var file: String?
    public var offset: Int?
    public var tensor: String?
    public var message: String

    public init(_ kind: Kind, _ message: String, file: String? = nil, offset: Int? = nil, tensor: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.offset = offset
        self.tensor = tensor
    }

    public var description: String {
        var place: [String] = []
        if let file { place.append(file) }
        if let tensor { place.append("tensor '\(tensor)'") }
        if let offset { place.append("offset \(offset)") }
        return place.isEmpty ? message : place.joined(separator: ": ") + ": " + message
    }

    /// The same error, attributed to `file` when it does not name one yet.
    public func inFile(_ path: String) -> LLMQError {
        var copy = self
        if copy.file == nil { copy.file = path }
        return copy
    }

    public func forTensor(_ name: String) -> LLMQError {
        var copy = self
        if copy.tensor == nil { copy.tensor = name }
        return copy
    }
}

/// Checked arithmetic for sizes read from untrusted headers: overflow is an input error, not a trap.
public enum Checked {
    public static func mul(_ values: Int..., what: @autoclosure () -> String) throws -> Int {
        try product(values, what: what())
    }

    public static func product(_ values: [Int], what: @autoclosure () -> String) throws -> Int {
        var result = 1
        for v in values {
            guard v >= 0 else { throw LLMQError(.invalid, "\(what()) has a negative factor \(v)") }
            let (r, overflow) = result.multipliedReportingOverflow(by: v)
            guard !overflow else { throw LLMQError(.invalid, "\(what()) overflows (\(values.map(String.init).joined(separator: " × ")))") }
            result = r
        }
        return result
    }

    public static func add(_ a: Int, _ b: Int, what: @autoclosure () -> String) throws -> Int {
        let (r, overflow) = a.addingReportingOverflow(b)
        guard !overflow, a >= 0, b >= 0 else { throw LLMQError(.invalid, "\(what()) overflows (\(a) + \(b))") }
        return r
    }
}
