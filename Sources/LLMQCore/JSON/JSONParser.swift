/// A strict RFC 8259 parser for JSON from untrusted files. Beyond the grammar it rejects duplicate
/// object keys (two readers could otherwise see two different documents), invalid UTF-8 and lone
/// surrogates, and it bounds nesting depth and the number of values so that a hostile document
/// cannot exhaust the stack or memory. Errors are `LLMQError`s with the absolute file offset.
public struct JSONParser {
    public struct Limits: Sendable {
        public var maxDepth: Int
        /// Values of any kind (each array element, each member value) the document may hold.
        public var maxValues: Int

        public init(maxDepth: Int = 64, maxValues: Int = 2_000_000) {
            self.maxDepth = maxDepth
            self.maxValues = maxValues
        }
    }

    private let bytes: UnsafeRawBufferPointer
    private let base: Int
    private let limits: Limits
    private var pos = 0
    private var depth = 0
    private var values = 0

    /// Parses `bytes` as one JSON value surrounded only by whitespace.
    /// - Parameter base: the file offset of `bytes`, for error messages.
    public static func parse(_ bytes: UnsafeRawBufferPointer, base: Int = 0, limits: Limits = Limits()) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes, base: base, limits: limits)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.pos == bytes.count else { throw parser.error("unexpected \(parser.describeNext()) after the JSON value") }
        return value
    }

    public static func parse(_ text: String, limits: Limits = Limits()) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { try parse(UnsafeRawBufferPointer($0), limits: limits) }
    }

    private init(bytes: UnsafeRawBufferPointer, base: Int, limits: Limits) {
        self.bytes = bytes
        self.base = base
        self.limits = limits
    }

    private func error(_ message: String, at position: Int? = nil) -> LLMQError {
        LLMQError(.invalid, "invalid JSON: \(message)", offset: base + (position ?? pos))
    }

    private func describeNext() -> String {
        guard pos < bytes.count else { return "end of data" }
        let b = bytes[pos]
        return (0x21...0x7E).contains(b) ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(String(b, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while pos < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[pos]) { pos += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard pos < bytes.count, bytes[pos] == byte else { throw error("expected \(what), found \(describeNext())") }
        pos += 1
    }

    private mutating func parseValue() throws -> JSONValue {
        values += 1
        guard values <= limits.maxValues else { throw error("more than \(limits.maxValues) values") }
        guard pos < bytes.count else { throw error("expected a value, found end of data") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("expected a value, found \(describeNext())")
        }
    }

    private mutating func literal(_ word: String) throws {
        let expected = Array(word.utf8)
        guard bytes.count - pos >= expected.count, expected.indices.allSatisfy({ bytes[pos + $0] == expected[$0] }) else {
            throw error("expected '\(word)', found \(describeNext())")
        }
        pos += expected.count
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= limits.maxDepth else { throw error("nesting deeper than \(limits.maxDepth) levels") }
    }

    private mutating func parseObject() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var members: [JSONMember] = []
        var seen = Set<String>()
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            let keyStart = pos
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error("expected a string key, found \(describeNext())") }
            let key = try parseString()
            guard seen.insert(key).inserted else { throw error("duplicate key \"\(key)\"", at: keyStart) }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after key \"\(key)\"")
            skipWhitespace()
            members.append(JSONMember(key, try parseValue()))
            skipWhitespace()
            guard pos < bytes.count else { throw error("object is not closed") }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(members) }
            try expect(UInt8(ascii: ","), "',' or '}' in object")
        }
    }

    private mutating func parseArray() throws -> JSONValue {
        try enter()
        defer { depth -= 1 }
        pos += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard pos < bytes.count else { throw error("array is not closed") }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(elements) }
            try expect(UInt8(ascii: ","), "',' or ']' in array")
        }
    }

    /// `pos` is at the opening quote.
    private mutating func parseString() throws -> String {
        let start = pos
        pos += 1
        // Fast path: no escapes, so the string is a slice of the input.
        var end = pos
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\"), bytes[end] >= 0x20 { end += 1 }
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            defer { pos = end + 1 }
            return try decodeUTF8(UnsafeRawBufferPointer(rebasing: bytes[pos..<end]), at: pos)
        }
        var out: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[pos..<end]))
        pos = end
        while true {
            guard pos < bytes.count else { throw error("string is not closed", at: start) }
            let b = bytes[pos]
            switch b {
            case UInt8(ascii: "\""):
                pos += 1
                return try out.withUnsafeBytes { try decodeUTF8($0, at: start + 1) }
            case UInt8(ascii: "\\"):
                pos += 1
                guard pos < bytes.count else { throw error("string is not closed", at: start) }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): out.append(contentsOf: Array(String(try unicodeEscape()).utf8))
                default: throw error("invalid escape '\\\(Character(Unicode.Scalar(e)))'", at: pos - 2)
                }
            case 0..<0x20:
                throw error("control character 0x\(String(b, radix: 16)) inside a string")
            default:
                out.append(b)
                pos += 1
            }
        }
    }

    /// `pos` is after `\u`; reads one escape or a surrogate pair.
    private mutating func unicodeEscape() throws -> Character {
        let at = pos - 2
        let high = try hex4()
        var value = UInt32(high)
        if (0xD800..<0xDC00).contains(high) {
            guard bytes.count - pos >= 2, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                throw error("lone surrogate \\u\(String(high, radix: 16))", at: at)
            }
            pos += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate \\u\(String(high, radix: 16))", at: at) }
            value = 0x10000 + (UInt32(high - 0xD800) << 10) + UInt32(low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(high) {
            throw error("lone surrogate \\u\(String(high, radix: 16))", at: at)
        }
        guard let scalar = Unicode.Scalar(value) else { throw error("invalid code point", at: at) }
        return Character(scalar)
    }

    private mutating func hex4() throws -> UInt16 {
        guard bytes.count - pos >= 4 else { throw error("truncated \\u escape") }
        var v: UInt16 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit in \\u escape")
            }
            v = v << 4 | UInt16(digit)
            pos += 1
        }
        return v
    }

    private func decodeUTF8(_ raw: UnsafeRawBufferPointer, at position: Int) throws -> String {
        guard let s = String(validating: raw, as: UTF8.self) else { throw error("string is not valid UTF-8", at: position) }
        return s
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = pos
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        let digitsStart = pos
        try digits()
        if bytes[digitsStart] == UInt8(ascii: "0"), pos - digitsStart > 1 { throw error("number with a leading zero", at: start) }
        var isInteger = true
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            try digits()
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            try digits()
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        if isInteger, let i = Int(text) { return .integer(i) }
        guard let d = Double(text), d.isFinite else { throw error("number \(text) is out of range", at: start) }
        return .number(d)
    }

    private mutating func digits() throws {
        let start = pos
        while pos < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[pos]) { pos += 1 }
        guard pos > start else { throw error("expected a digit, found \(describeNext())") }
    }
}
