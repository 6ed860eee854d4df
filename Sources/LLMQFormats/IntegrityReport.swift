import LLMQCore

/// The result of verifying a file without running it (`llmq inspect --check`): what was verified
/// and every place found bad, with the reason.
public struct IntegrityReport: Codable, Sendable {
    public struct Problem: Codable, Sendable, Equatable {
        /// "header", "tensor table", "tokenizer", "metadata", "padding …", or "tensor".
        public var place: String
        public var tensor: String?
        public var offset: Int?
        public var message: String

        public init(place: String, tensor: String? = nil, offset: Int? = nil, message: String) {
            self.place = place
            self.tensor = tensor
            self.offset = offset
            self.message = message
        }

        public init(_ error: LLMQError, place: String) {
            self.init(place: place, tensor: error.tensor, offset: error.offset, message: error.message)
        }

        public var description: String {
            var where_ = [place]
            if let tensor { where_.append("'\(tensor)'") }
            if let offset { where_.append("offset \(offset)") }
            return where_.joined(separator: " ") + ": " + message
        }
    }

    public var path: String
    public var format: String
    /// What was verified, in words ("header checksum", "47 tensor checksums", …).
    public var verified: [String]
    public var problems: [Problem]

    public var ok: Bool { problems.isEmpty }
}
