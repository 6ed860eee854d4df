/// Typed reads of one object of a parsed, untrusted JSON header. Each accessor names the member's
/// path and the kind it expected when the member is missing or of another kind, so a header is
/// either read exactly as written or refused with one line saying where and why. Members the
/// reader does not ask for are ignored; null counts as absent for the optional accessors.
public struct JSONObject {
    /// Dotted path of this object in the document ("" for the root), for messages.
    public let path: String
    public let members: [JSONMember]

    public init(_ value: JSONValue, path: String = "") throws {
        guard let members = value.members else {
            throw LLMQError(.invalid, "\(path.isEmpty ? "the document" : "'\(path)'") is \(value.kindDescription), expected an object")
        }
        self.path = path
        self.members = members
    }

    public func has(_ key: String) -> Bool {
        if let v = value(key), v != .null { return true }
        return false
    }

    public func int(_ key: String) throws -> Int { try required(key, "an integer", optionalInt) }
    public func double(_ key: String) throws -> Double { try required(key, "a number", optionalDouble) }
    public func float(_ key: String) throws -> Float { try required(key, "a number", optionalFloat) }
    public func bool(_ key: String) throws -> Bool { try required(key, "a boolean", optionalBool) }
    public func string(_ key: String) throws -> String { try required(key, "a string", optionalString) }
    public func object(_ key: String) throws -> JSONObject { try required(key, "an object", optionalObject) }
    public func array(_ key: String) throws -> [JSONValue] { try required(key, "an array", optionalArray) }

    public func optionalInt(_ key: String) throws -> Int? {
        try optional(key, "an integer") { $0.integer }
    }

    public func optionalDouble(_ key: String) throws -> Double? {
        try optional(key, "a number") { $0.double }
    }

    /// A number that float32 can hold (finite after rounding).
    public func optionalFloat(_ key: String) throws -> Float? {
        guard let d = try optionalDouble(key) else { return nil }
        guard Float(d).isFinite else { throw LLMQError(.invalid, "'\(self.path(key))' is \(d), beyond float32's range") }
        return Float(d)
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        try optional(key, "a boolean") { $0.bool }
    }

    public func optionalString(_ key: String) throws -> String? {
        try optional(key, "a string") { $0.string }
    }

    public func optionalObject(_ key: String) throws -> JSONObject? {
        guard let v = value(key), v != .null else { return nil }
        return try JSONObject(v, path: path(key))
    }

    public func optionalArray(_ key: String) throws -> [JSONValue]? {
        try optional(key, "an array") { $0.array }
    }

    /// An array whose every element is an object.
    public func objects(_ key: String, required: Bool = true) throws -> [JSONObject] {
        let elements = required ? try array(key) : try optionalArray(key) ?? []
        return try elements.enumerated().map { try JSONObject($1, path: "\(path(key))[\($0)]") }
    }

    /// An array whose every element is an integer.
    public func ints(_ key: String) throws -> [Int] {
        try array(key).enumerated().map { i, v in
            guard let n = v.integer else { throw LLMQError(.invalid, "'\(path(key))[\(i)]' is \(v.kindDescription), expected an integer") }
            return n
        }
    }

    /// An object whose every member is a string.
    public func optionalStringMap(_ key: String) throws -> [String: String]? {
        guard let object = try optionalObject(key) else { return nil }
        var map: [String: String] = [:]
        for m in object.members {
            guard let s = m.value.string else {
                throw LLMQError(.invalid, "'\(object.path(m.key))' is \(m.value.kindDescription), expected a string")
            }
            map[m.key] = s
        }
        return map
    }

    private func value(_ key: String) -> JSONValue? {
        members.first { $0.key == key }?.value
    }

    private func path(_ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    private func optional<T>(_ key: String, _ expected: String, _ read: (JSONValue) -> T?) throws -> T? {
        guard let v = value(key), v != .null else { return nil }
        guard let t = read(v) else { throw LLMQError(.invalid, "'\(path(key))' is \(v.kindDescription), expected \(expected)") }
        return t
    }

    private func required<T>(_ key: String, _ expected: String, _ read: (String) throws -> T?) throws -> T {
        guard let t = try read(key) else {
            let found = value(key) == nil ? "missing" : "null"
            throw LLMQError(.invalid, "'\(path(key))' is \(found), expected \(expected)")
        }
        return t
    }
}
