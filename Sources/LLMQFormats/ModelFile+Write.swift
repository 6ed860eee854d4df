import LLMQCore

/// Writing a model in the format its destination's extension names.
extension ModelFile {
    /// The formats llmq writes.
    public enum OutputFormat: String, CaseIterable, Sendable {
        case llama2c
        case llmq
        case gguf
        case safetensors

        /// `.bin` is a llama2.c checkpoint; `.llmq`, `.q4`, `.q8` (and any `.qN…`) are containers;
        /// `.gguf` and `.safetensors` are what they say.
        public init?(path: String) {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            guard let dot = name.lastIndex(of: ".") else { return nil }
            let ext = name[name.index(after: dot)...].lowercased()
            switch ext {
            case "bin": self = .llama2c
            case "llmq": self = .llmq
            case "gguf": self = .gguf
            case "safetensors": self = .safetensors
            case _ where ext.hasPrefix("q") && ext.dropFirst().first?.isNumber == true: self = .llmq
            default: return nil
            }
        }
    }

    public struct WriteOptions: Sendable {
        /// llama2.c checkpoint version (0 legacy, 1 fp32, 2 int8 groups) and its group size.
        public var llama2cVersion = 0
        public var llama2cGroupSize = 64
        public var container = LLMQContainerWriter.Options()
        public var safetensors = SafetensorsWriter.Options()
        /// A GGUF's `general.file_type` (llama.cpp's `llama_ftype`, e.g. 15 for a Q4_K_M mix); nil
        /// derives it from the dtype holding most matrix elements.
        public var ggufFileType: UInt32?
        /// Further text keys for a GGUF (what llmq did that the tensors alone do not say).
        public var ggufText: [(key: String, value: String)] = []
        /// Recorded in a container's metadata; called after the last tensor is written.
        public var metadata: @Sendable (Model) throws -> ContainerMetadata = { ContainerMetadata(config: $0.config) }

        public init() {}
    }

    public static func outputFormat(for path: String, explicit: OutputFormat?) throws -> OutputFormat {
        if let explicit { return explicit }
        guard let format = OutputFormat(path: path) else {
            let names = OutputFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw LLMQError(.usage, "cannot tell the output format from the extension; use .bin, .llmq/.q4/.q8, .gguf or .safetensors, or name one of: \(names)", file: path)
        }
        return format
    }

    /// Writes `model` to `path` atomically (never over one of the model's own files).
    public static func write(_ model: Model, to path: String, format: OutputFormat? = nil, options: WriteOptions = WriteOptions(),
                             progress: (Int, Int) throws -> Void = { _, _ in }) throws {
        switch try outputFormat(for: path, explicit: format) {
        case .llama2c:
            try Llama2CWriter.write(model, to: path, version: options.llama2cVersion, groupSize: options.llama2cGroupSize, progress: progress)
        case .llmq:
            try LLMQContainerWriter.write(model, to: path, options: options.container, metadata: { try options.metadata(model) }, progress: progress)
        case .gguf:
            try GGUFWriter.write(model, to: path, fileType: options.ggufFileType, text: options.ggufText, progress: progress)
        case .safetensors:
            try SafetensorsWriter.write(model, to: path, options: options.safetensors, progress: progress)
        }
    }
}
