import Foundation
import LLMQCore
import LLMQFormats
import LLMQTestSupport
import Testing

/// A safetensors file: the little-endian header length (the header's own unless `length` says
/// otherwise), the header text, the data.
func safetensorsBytes(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    let text = Array(header.utf8)
    return withUnsafeBytes(of: (length ?? UInt64(text.count)).littleEndian) { Array($0) } + text + data
}

/// Bad safetensors files, shard indexes and Llama configs: each must give an LLMQError naming the
/// file (and the tensor when one is at fault), never a crash or an allocation the header sized.
@Suite("safetensors bad input")
struct HostileSafetensorsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var label: String
        var bytes: [UInt8]
        var kind: LLMQError.Kind
        var text: String
        var tensor: String?
        var testDescription: String { label }
    }

    static let f32 = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
    static let four: [UInt8] = [0, 0, 128, 63]

    static let cases: [Case] = [
        Case(label: "file shorter than the length field", bytes: [1, 2, 3], kind: .truncated, text: "8-byte header length"),
        Case(label: "header length 2^63", bytes: safetensorsBytes("{}", length: 1 << 63), kind: .invalid, text: "exceeds the limit"),
        Case(label: "header length past the end", bytes: safetensorsBytes("{}", length: 1000), kind: .truncated, text: "runs past the end"),
        Case(label: "header length 0", bytes: safetensorsBytes("", length: 0), kind: .invalid, text: "does not start with '{'"),
        Case(label: "header not starting with {", bytes: safetensorsBytes(" {}"), kind: .invalid, text: "does not start with '{'"),
        Case(label: "truncated JSON", bytes: safetensorsBytes(#"{"a":{"dtype":"F32","#), kind: .invalid, text: "invalid JSON"),
        Case(label: "text after the JSON", bytes: safetensorsBytes("{} x"), kind: .invalid, text: "unexpected 'x'"),
        Case(label: "NUL padding", bytes: safetensorsBytes("{}\0\0"), kind: .invalid, text: "unexpected byte 0x0"),
        Case(label: "invalid UTF-8", bytes: safetensorsBytes("{\"a\u{FFFF}\":1}").map { $0 == 0xEF ? 0xFF : $0 }, kind: .invalid,
             text: "not valid UTF-8"),
        Case(label: "lone surrogate", bytes: safetensorsBytes(#"{"\ud800":1}"#), kind: .invalid, text: "lone surrogate"),
        Case(label: "control character in a string", bytes: safetensorsBytes("{\"a\tb\":1}"), kind: .invalid, text: "control character"),
        Case(label: "nesting 100 deep", bytes: safetensorsBytes(#"{"__metadata__":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"),
             kind: .invalid, text: "nesting deeper than 64"),
        Case(label: "duplicate tensor names", bytes: safetensorsBytes(#"{"a":\#(f32),"a":\#(f32)}"#, data: four), kind: .invalid,
             text: "duplicate key \"a\""),
        Case(label: "overlapping tensors",
             bytes: safetensorsBytes(#"{"a":\#(f32),"b":\#(f32)}"#, data: four), kind: .invalid, text: "overlap tensor 'a'", tensor: "b"),
        Case(label: "a gap before a tensor",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: four + four), kind: .invalid,
             text: "leaving 4 bytes after the header", tensor: "a"),
        Case(label: "bytes after the last tensor", bytes: safetensorsBytes(#"{"a":\#(f32)}"#, data: four + four), kind: .invalid,
             text: "4 bytes after the last tensor 'a' belong to no tensor"),
        Case(label: "offsets past the end",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: four), kind: .truncated,
             text: "run past the end", tensor: "a"),
        Case(label: "size differs from the shape",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: four), kind: .invalid,
             text: "hold 4 bytes but shape [2] of F32 needs 8", tensor: "a"),
        Case(label: "unknown dtype", bytes: safetensorsBytes(#"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}"#, data: four),
             kind: .invalid, text: "unknown dtype \"F128\"", tensor: "a"),
        Case(label: "boolean dtype", bytes: safetensorsBytes(#"{"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}"#, data: [1]),
             kind: .unsupported, text: "dtype BOOL is not supported", tensor: "a"),
        Case(label: "negative dimension", bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: four),
             kind: .invalid, text: "shape has -1 as a dimension", tensor: "a"),
        Case(label: "fractional dimension", bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#, data: four),
             kind: .invalid, text: "a non-integer number as a dimension", tensor: "a"),
        Case(label: "dimensions whose product overflows",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#, data: four),
             kind: .invalid, text: "overflows", tensor: "a"),
        Case(label: "offset beyond 64 bits",
             bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551620]}}"#, data: four),
             kind: .invalid, text: "data_offsets must be two integers", tensor: "a"),
        Case(label: "three offsets", bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}"#, data: four),
             kind: .invalid, text: "data_offsets must be two integers", tensor: "a"),
        Case(label: "begin after end", bytes: safetensorsBytes(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, data: four),
             kind: .invalid, text: "0 ≤ begin ≤ end", tensor: "a"),
        Case(label: "entry without dtype", bytes: safetensorsBytes(#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#, data: four),
             kind: .invalid, text: "no dtype", tensor: "a"),
        Case(label: "entry that is not an object", bytes: safetensorsBytes(#"{"a":5}"#), kind: .invalid, text: "is an integer", tensor: "a"),
        Case(label: "metadata value that is not a string", bytes: safetensorsBytes(#"{"__metadata__":{"k":1}}"#), kind: .invalid,
             text: "__metadata__ key \"k\" holds an integer"),
    ]

    @Test("bad files are rejected with the problem, the file and the tensor", arguments: cases)
    func badFile(_ c: Case) throws {
        let path = try Fixtures.scratch() + "/bad.safetensors"
        try Fixtures.write(c.bytes, to: path)
        expectError(c.kind, c.text, file: path, tensor: c.tensor) { _ = try ModelFile.open(path) }
    }

    @Test("headers are accepted as the reference accepts them: padding, any key order, empty and zero-size tensors, unknown keys")
    func acceptedHeaders() throws {
        let path = try Fixtures.scratch() + "/ok.safetensors"
        let header = #"{ "z" : {"dtype":"F32","shape":[0,3],"data_offsets":[4,4], "x": [1]}, "__metadata__":null, "s":\#(Self.f32)}"# + "    \n\t "
        try Fixtures.write(safetensorsBytes(header, data: Self.four), to: path)
        let archive = try SafetensorsArchive.open(path)
        #expect(archive.tensors.map(\.name) == ["s", "z"])
        #expect(archive.tensors.map(\.shape) == [[1], [0, 3]])
        // The bytes live as long as the archive's memory map.
        let bytes = try archive.data(archive.tensors[0])
        #expect(Array(bytes.bindMemory(to: Float.self)) == [1])
        withExtendedLifetime(archive) {}
        try Fixtures.write(safetensorsBytes("{}"), to: path)
        #expect(try SafetensorsArchive.open(path).tensors.isEmpty)
    }

    @Test("shard indexes: paths outside the directory, missing shards, tensors the index misplaces")
    func badIndex() throws {
        let dir = try Fixtures.scratch()
        let index = dir + "/m.safetensors.index.json"
        try Fixtures.write(safetensorsBytes(#"{"a":\#(Self.f32)}"#, data: Self.four), to: dir + "/one.safetensors")
        func check(_ json: String, _ kind: LLMQError.Kind, _ text: String, file: String? = nil, tensor: String? = nil,
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
            try Fixtures.write(Array(json.utf8), to: index)
            expectError(kind, text, file: file ?? index, tensor: tensor, sourceLocation: sourceLocation) { _ = try ModelFile.open(index) }
        }
        try check(#"{"weight_map":{"a":"../one.safetensors"}}"#, .invalid, "plain file names")
        try check(#"{"weight_map":{"a":"/etc/passwd"}}"#, .invalid, "plain file names")
        try check(#"{"weight_map":{"a":"two.safetensors"}}"#, .io, "cannot open", file: dir + "/two.safetensors")
        try check(#"{"weight_map":{"b":"one.safetensors"}}"#, .invalid, "the index does not list it", file: dir + "/one.safetensors", tensor: "a")
        try check(#"{"weight_map":{"a":"one.safetensors","b":"one.safetensors"}}"#, .invalid, "that shard does not hold it", tensor: "b")
        try check(#"{"weight_map":{"a":"one.safetensors"},"weight_map":{}}"#, .invalid, "duplicate key")
        try check(#"{"weights":{}}"#, .invalid, "has no weight_map")
    }

    @Test("Llama configs and tensors llmq cannot run are named, not guessed around")
    func badLlama() throws {
        let dir = try Fixtures.scratch()
        let tiny = TinyLlama()
        func check(config: String? = nil, tensors: [(String, [Int])]? = nil, metadata: String = "", _ kind: LLMQError.Kind, _ text: String,
                   tensor: String? = nil, configFault: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
            try Fixtures.write(tiny.file(tensors ?? tiny.tensors, metadata: metadata), to: dir + "/model.safetensors")
            try? FileManager.default.removeItem(atPath: dir + "/config.json")
            if let config { try Fixtures.write(Array(config.utf8), to: dir + "/config.json") }
            let file = dir + (configFault ? "/config.json" : "/model.safetensors")
            expectError(kind, text, file: file, tensor: tensor, sourceLocation: sourceLocation) { _ = try ModelFile.open(dir) }
        }
        try Fixtures.write(tiny.file(tiny.tensors), to: dir + "/model.safetensors")
        try Fixtures.write(Array(tiny.config().utf8), to: dir + "/config.json")
        #expect(try ModelFile.open(dir).config.dim == 8)

        try check(.invalid, "no llmq.config metadata and there is no config.json")
        try check(config: tiny.config(#""rope_scaling": {"rope_type": "llama3", "factor": 8.0}"#), .unsupported,
                  #"rope_scaling {"rope_type":"llama3","factor":8.0} is not supported"#, configFault: true)
        try check(config: tiny.config(#""architectures": ["MistralForCausalLM"]"#), .unsupported, "architecture MistralForCausalLM",
                  configFault: true)
        try check(config: tiny.config(#""hidden_size": 8.5"#), .invalid, "config hidden_size is a non-integer number", configFault: true)
        try check(config: tiny.config(#""num_key_value_heads": 3"#), .invalid, "n_heads 2 is not a multiple of n_kv_heads 3",
                  configFault: true)
        try check(config: tiny.config(#""num_hidden_layers": 16777216"#), .invalid, "the config's 16777216 layers cannot fit in the 12 tensors")
        try check(config: tiny.config(#""head_dim": 2"#), .unsupported, "config head_dim 2 differs", configFault: true)
        try check(config: tiny.config(#""attention_bias": true"#), .unsupported, "attention_bias true is not supported", configFault: true)
        try check(config: tiny.config(), tensors: tiny.tensors.map { $0.0.hasSuffix("q_proj.weight") ? ($0.0, [8, 4]) : $0 }, .invalid,
                  "has shape [8, 4], expected [8, 8]", tensor: "blk.0.attn_q.weight")
        try check(config: tiny.config(), tensors: tiny.tensors + [("model.layers.0.self_attn.q_norm.weight", [8])], .unsupported,
                  "is not a tensor of a Llama model", tensor: "model.layers.0.self_attn.q_norm.weight")
        try check(config: tiny.config(), tensors: tiny.tensors + [("model.layers.1.input_layernorm.weight", [8])], .unsupported,
                  "is not a tensor of this model (1 layers", tensor: "model.layers.1.input_layernorm.weight")
        try check(config: tiny.config(), tensors: tiny.tensors.filter { !$0.0.contains("mlp.up") }, .invalid,
                  "model has no tensor 'blk.0.ffn_up.weight'")
        try check(config: tiny.config(), metadata: #""llmq.tokenizer":"{\"kind\":\"llama\",\"pieces\":[\"a\"]}""#, .invalid,
                  "llmq.tokenizer: needs 3 pieces")
        // The classifier of a tied model is the embedding, whatever the file also holds.
        try Fixtures.write(Array(tiny.config(#""tie_word_embeddings": true"#).utf8), to: dir + "/config.json")
        try Fixtures.write(tiny.file(tiny.tensors), to: dir + "/model.safetensors")
        let tied = try ModelFile.open(dir)
        #expect(tied.config.sharedClassifier && tied[CanonicalName.output] == nil)
        #expect(tied.regions.contains { $0.name.hasPrefix("unused tensor lm_head.weight") })
    }
}

/// A one-layer Llama (dim 8, 2 heads, 1 KV head, hidden 4, vocab 3) as Hugging Face names it.
struct TinyLlama {
    let tensors: [(String, [Int])] = [
        ("model.embed_tokens.weight", [3, 8]), ("model.norm.weight", [8]), ("lm_head.weight", [3, 8]),
        ("model.layers.0.input_layernorm.weight", [8]), ("model.layers.0.self_attn.q_proj.weight", [8, 8]),
        ("model.layers.0.self_attn.k_proj.weight", [4, 8]), ("model.layers.0.self_attn.v_proj.weight", [4, 8]),
        ("model.layers.0.self_attn.o_proj.weight", [8, 8]), ("model.layers.0.post_attention_layernorm.weight", [8]),
        ("model.layers.0.mlp.gate_proj.weight", [4, 8]), ("model.layers.0.mlp.down_proj.weight", [8, 4]),
        ("model.layers.0.mlp.up_proj.weight", [4, 8]),
    ]

    /// config.json, with `override` (JSON members) replacing the defaults of the same keys.
    func config(_ override: String = "") -> String {
        var fields = [
            "architectures": #"["LlamaForCausalLM"]"#, "hidden_size": "8", "intermediate_size": "4", "num_hidden_layers": "1",
            "num_attention_heads": "2", "num_key_value_heads": "1", "vocab_size": "3",
        ]
        if !override.isEmpty, let parsed = try? JSONParser.parse("{\(override)}").members {
            for m in parsed { fields[m.key] = m.value.serialized }
        }
        return "{" + fields.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }

    /// A safetensors file of zeros for these tensors; `metadata` is extra `__metadata__` members.
    func file(_ tensors: [(String, [Int])], metadata: String = "") -> [UInt8] {
        var offset = 0
        var entries: [String] = []
        for (name, shape) in tensors {
            let bytes = shape.reduce(4, *)
            entries.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        if !metadata.isEmpty { entries.insert("\"__metadata__\":{\(metadata)}", at: 0) }
        return safetensorsBytes("{" + entries.joined(separator: ",") + "}", data: [UInt8](repeating: 0, count: offset))
    }
}

func expectError(_ kind: LLMQError.Kind, _ text: String, file: String, tensor: String? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error mentioning \(text)", sourceLocation: sourceLocation)
    } catch let e as LLMQError {
        #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation)
        #expect(e.file == file, "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.contains(text), "\(e)", sourceLocation: sourceLocation)
        if let tensor { #expect(e.tensor == tensor, "\(e)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}
