#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LLMQCore

/// The files of a Hugging Face model directory llmq reads and writes.
public enum HFDirectory {
    public static let singleFile = "model.safetensors"
    public static let indexFile = "model.safetensors.index.json"
    public static let generationConfigFile = "generation_config.json"

    /// "dir/" for "dir/file", "" for "file": the prefix that names a sibling file.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }

    static func prefix(ofDirectory path: String) -> String {
        path.hasSuffix("/") ? path : path + "/"
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The file that holds the weights of a model directory: the shard index if there is one,
    /// else the single file.
    static func weightsFile(inDirectory path: String) throws -> String {
        let dir = prefix(ofDirectory: path)
        if exists(dir + indexFile) { return dir + indexFile }
        if exists(dir + singleFile) { return dir + singleFile }
        throw LLMQError(.io, "directory has neither \(singleFile) nor \(indexFile)", file: path)
    }

    /// Creates the directory (not its parents) unless it exists.
    static func create(_ path: String) throws {
        if isDirectory(path) { return }
        guard mkdir(path, 0o755) == 0 else {
            throw LLMQError(.io, "cannot create the directory: \(String(cString: strerror(errno)))", file: path)
        }
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}

extension HFDirectory {
    /// Writes a model directory transformers loads: `config.json`, `generation_config.json` (when the
    /// model has a tokenizer), and `model.safetensors` or shards with `model.safetensors.index.json`,
    /// Hugging Face names and rotate-half Q/K rows. The tokenizer travels in the first file's
    /// `__metadata__` (`llmq.tokenizer`). Each file is written atomically; the weights go first.
    public static func write(_ model: Model, to directory: String, floatType: DType? = nil, maxShardBytes: Int? = nil,
                             progress: (Int, Int) throws -> Void = { _, _ in }) throws {
        let view = try SafetensorsView.make(model, layout: .huggingFace, floatType: floatType)
        try create(directory)
        let dir = prefix(ofDirectory: directory)
        let inputs = model.files.map(\.path)
        try SafetensorsWriter.writeFiles(view, base: dir + "model", metadata: [("format", "pt")], inputs: inputs,
                                         maxShardBytes: maxShardBytes, progress: progress)
        let bos = model.tokenizer?.bosID, eos = model.tokenizer?.eosID
        let config = HFConfig.json(model.config, torchDType: SafetensorsWriter.torchDTypeName(view), bosID: bos, eosID: eos)
        try SafetensorsWriter.writeText(config.pretty, to: dir + HFConfig.fileName, inputs: inputs)
        if let bos, let eos {
            let generation = JSONValue.object([
                JSONMember("_from_model_config", .bool(true)),
                JSONMember("bos_token_id", .integer(bos)),
                JSONMember("eos_token_id", .integer(eos)),
            ])
            try SafetensorsWriter.writeText(generation.pretty, to: dir + generationConfigFile, inputs: inputs)
        }
    }
}
