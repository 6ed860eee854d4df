import Foundation
import LLMQCore

/// The metadata section: a JSON object describing the model and how the file was made
/// (`formats/llmq.md`, "Metadata"). Encoded with sorted keys and no timestamps, so the same
/// input and options give the same bytes.
public struct ContainerMetadata: Sendable, Equatable {
    public var architecture = "llama"
    public var config: ModelConfig
    public var tool: Tool
    public var created: Created?
    public var source: Source?
    public var quantization: Quantization?
    public var extra: [String: String]

    public init(config: ModelConfig, tool: Tool = Tool(), created: Created? = nil, source: Source? = nil,
                quantization: Quantization? = nil, extra: [String: String] = [:]) {
        self.config = config
        self.tool = tool
        self.created = created
        self.source = source
        self.quantization = quantization
        self.extra = extra
    }

    public struct Tool: Encodable, Sendable, Equatable {
        public static let currentVersion = "0.1.0"
        public var name = "llmq"
        public var version = Tool.currentVersion
        public init() {}
    }

    public struct Created: Encodable, Sendable, Equatable {
        public var command: String
        public var parameters: [String: String]
        public init(command: String, parameters: [String: String] = [:]) {
            self.command = command
            self.parameters = parameters
        }
    }

    public struct Source: Encodable, Sendable, Equatable {
        public struct File: Encodable, Sendable, Equatable {
            public var name: String
            public var bytes: Int
            public var xxh64: String
            public init(name: String, bytes: Int, xxh64: String) {
                self.name = name
                self.bytes = bytes
                self.xxh64 = xxh64
            }
        }
        public var format: String
        public var files: [File]
        public init(format: String, files: [File]) {
            self.format = format
            self.files = files
        }
    }

    public struct Quantization: Encodable, Sendable, Equatable {
        public var recipe: Recipe
        public var tensors: [TensorRecord]
        public init(recipe: Recipe, tensors: [TensorRecord]) {
            self.recipe = recipe
            self.tensors = tensors
        }
    }

    /// The requested quantization: a default type and group, and regex rules (first match wins).
    /// Codable as part of the library's results (`LLMQ.QuantizeResult`); files are read through the
    /// strict parser (`init(_: JSONObject)`), never through this conformance.
    public struct Recipe: Codable, Sendable, Equatable {
        public struct Rule: Codable, Sendable, Equatable {
            public var pattern: String
            public var type: String
            public init(pattern: String, type: String) {
                self.pattern = pattern
                self.type = type
            }
        }
        public var type: String
        public var group: Int?
        public var rules: [Rule]
        /// True when block scales were searched (absent: the reference rounding).
        public var scaleSearch: Bool?
        /// The importance matrix that weighted the search (its path as given), if any.
        public var imatrix: String?
        public init(type: String, group: Int? = nil, rules: [Rule] = [], scaleSearch: Bool? = nil, imatrix: String? = nil) {
            self.type = type
            self.group = group
            self.rules = rules
            self.scaleSearch = scaleSearch
            self.imatrix = imatrix
        }

        enum CodingKeys: String, CodingKey {
            case type, group, rules, imatrix
            case scaleSearch = "scale_search"
        }
    }

    /// What one tensor became and why, and how far it moved from its source.
    public struct TensorRecord: Encodable, Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var sourceDType: String
        public var dtype: String
        /// Why the tensor did not get the requested type (a fallback), or nil.
        public var reason: String?
        public var rmse: Double?
        /// 10·log10(signal energy / error energy); nil when the error is zero.
        public var snrDB: Double?

        public init(name: String, shape: [Int], sourceDType: String, dtype: String, reason: String? = nil,
                    rmse: Double? = nil, snrDB: Double? = nil) {
            self.name = name
            self.shape = shape
            self.sourceDType = sourceDType
            self.dtype = dtype
            self.reason = reason
            self.rmse = rmse
            self.snrDB = snrDB
        }

        enum CodingKeys: String, CodingKey {
            case name, shape, dtype, reason, rmse
            case sourceDType = "source_dtype"
            case snrDB = "snr_db"
        }
    }
}

extension ContainerMetadata: Encodable {
    enum CodingKeys: String, CodingKey {
        case architecture, config, tool, created, source, quantization, extra
    }

    enum ConfigKeys: String, CodingKey {
        case dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, context_length, rope_theta, norm_epsilon, shared_classifier
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        var k = c.nestedContainer(keyedBy: ConfigKeys.self, forKey: .config)
        try k.encode(config.dim, forKey: .dim)
        try k.encode(config.hiddenDim, forKey: .hidden_dim)
        try k.encode(config.layerCount, forKey: .n_layers)
        try k.encode(config.headCount, forKey: .n_heads)
        try k.encode(config.kvHeadCount, forKey: .n_kv_heads)
        try k.encode(config.vocabSize, forKey: .vocab_size)
        try k.encode(config.contextLength, forKey: .context_length)
        try k.encode(config.ropeTheta, forKey: .rope_theta)
        try k.encode(config.normEpsilon, forKey: .norm_epsilon)
        try k.encode(config.sharedClassifier, forKey: .shared_classifier)
        try c.encode(tool, forKey: .tool)
        try c.encodeIfPresent(created, forKey: .created)
        try c.encodeIfPresent(source, forKey: .source)
        try c.encodeIfPresent(quantization, forKey: .quantization)
        if !extra.isEmpty { try c.encode(extra, forKey: .extra) }
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// Parses the metadata section and checks it against the table (check 4 of the spec).
    static func decode(_ bytes: UnsafeRawBufferPointer, base: Int, entries: [ContainerEntry]) throws -> ContainerMetadata {
        // The strict parser bounds nesting and size and refuses duplicate keys and anything after
        // the object, so every reader sees the one document the bytes hold.
        let metadata: ContainerMetadata
        do {
            metadata = try ContainerMetadata(try JSONObject(try JSONParser.parse(bytes, base: base)))
        } catch let e as LLMQError {
            throw LLMQError(.invalid, "metadata: \(e.message)", offset: e.offset ?? base)
        }
        guard metadata.architecture == "llama" else {
            throw LLMQError(.unsupported, "metadata: architecture '\(metadata.architecture)' (version 1 holds llama models)", offset: base)
        }
        do { try metadata.config.validate() } catch let e as LLMQError {
            throw LLMQError(.invalid, "metadata config: \(e.message)", offset: base)
        }
        if let records = metadata.quantization?.tensors {
            let dtypes = Dictionary(entries.map { ($0.name, $0.dtype.description) }, uniquingKeysWith: { a, _ in a })
            for record in records {
                guard let dtype = dtypes[record.name] else {
                    throw LLMQError(.invalid, "metadata: quantization record for a tensor the table does not have", offset: base, tensor: record.name)
                }
                guard dtype == record.dtype else {
                    throw LLMQError(.invalid, "metadata says dtype \(record.dtype), the table says \(dtype)", offset: base, tensor: record.name)
                }
            }
        }
        return metadata
    }

    /// Reads every member formats/llmq.md defines, each of the kind it must be.
    init(_ o: JSONObject) throws {
        architecture = try o.string("architecture")
        let c = try o.object("config")
        config = ModelConfig(dim: try c.int("dim"), hiddenDim: try c.int("hidden_dim"), layerCount: try c.int("n_layers"),
                             headCount: try c.int("n_heads"), kvHeadCount: try c.int("n_kv_heads"), vocabSize: try c.int("vocab_size"),
                             contextLength: try c.int("context_length"), ropeTheta: try c.float("rope_theta"),
                             normEpsilon: try c.float("norm_epsilon"), sharedClassifier: try c.bool("shared_classifier"))
        let t = try o.object("tool")
        tool = Tool()
        tool.name = try t.string("name")
        tool.version = try t.string("version")
        created = try o.optionalObject("created").map { c in
            Created(command: try c.string("command"), parameters: try c.optionalStringMap("parameters") ?? [:])
        }
        source = try o.optionalObject("source").map { s in
            Source(format: try s.string("format"), files: try s.objects("files").map { f in
                Source.File(name: try f.string("name"), bytes: try f.int("bytes"), xxh64: try f.string("xxh64"))
            })
        }
        quantization = try o.optionalObject("quantization").map { q in
            let r = try q.object("recipe")
            let recipe = Recipe(type: try r.string("type"), group: try r.optionalInt("group"),
                                rules: try r.objects("rules").map { Recipe.Rule(pattern: try $0.string("pattern"), type: try $0.string("type")) },
                                scaleSearch: try r.optionalBool("scale_search"), imatrix: try r.optionalString("imatrix"))
            return Quantization(recipe: recipe, tensors: try q.objects("tensors").map { t in
                TensorRecord(name: try t.string("name"), shape: try t.ints("shape"), sourceDType: try t.string("source_dtype"),
                             dtype: try t.string("dtype"), reason: try t.optionalString("reason"), rmse: try t.optionalDouble("rmse"),
                             snrDB: try t.optionalDouble("snr_db"))
            })
        }
        extra = try o.optionalStringMap("extra") ?? [:]
    }
}

extension ContainerMetadata.Source {
    /// The model's format and, for each file it was read from, its name, size and XXH64 digest.
    public init(of model: Model) throws {
        let files = try model.files.filter { $0.count > 0 }.map { file in
            File(name: file.path.split(separator: "/").last.map(String.init) ?? file.path, bytes: file.count,
                 xxh64: XXH64.hex(try XXH64.hash(fileAt: file.path)))
        }
        self.init(format: model.format.description, files: files)
    }
}
