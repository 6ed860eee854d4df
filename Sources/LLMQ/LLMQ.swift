// The library behind every llmq command: convert, quantize, calibrate, perplexity and verify, each
// one documented call taking a request struct (defaults as the command line has them) and
// returning a Codable result (what `llmq … --json` prints), with progress reports and cancellation
// (`Monitor.swift`). The command line only parses arguments into requests and renders results.
//
// `import LLMQ` brings the modules the requests and results are made of: the model and its
// formats, the quantizer's recipes, the engine's tokenizers and the verification reports.
@_exported import LLMQBlocks
@_exported import LLMQCore
@_exported import LLMQEngine
@_exported import LLMQFormats
@_exported import LLMQQuant
@_exported import LLMQVerify
