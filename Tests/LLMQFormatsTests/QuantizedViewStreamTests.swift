import Foundation
import LLMQCore
import LLMQFormats
import LLMQQuant
import LLMQTestSupport
import Testing

/// A quantized view streams what it decodes, whether or not anyone collects its error statistics
/// (the fuzz seeds and library callers often do not).
@Suite("quantized views stream")
struct QuantizedViewStreamTests {
    @Test("without statistics, every tensor streams in pieces to the bytes it decodes whole, and a container writes", arguments: ["q8_0", "q4_K"])
    func streamsWithoutStatistics(type: String) throws {
        let config = ModelConfig(dim: 256, hiddenDim: 512, layerCount: 1, headCount: 4, kvHeadCount: 2, vocabSize: 300, contextLength: 16)
        let model = try SyntheticModel.make(config: config, seed: 7, name: "tiny")
        let view = try Quantizer.view(of: model, plan: try QuantizationRecipe(type: type, group: nil).plan(for: model), threads: 1)
        for tensor in view.tensors {
            var streamed: [UInt8] = []
            try view.stream(tensor, rows: 7) { streamed.append(contentsOf: $0) }
            #expect(streamed == Array(try view.data(tensor)), "\(tensor.name)")
        }
        let dir = try Fixtures.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fresh = try Quantizer.view(of: model, plan: try QuantizationRecipe(type: type, group: nil).plan(for: model), threads: 1)
        try LLMQContainerWriter.write(fresh, to: dir + "/t.llmq", options: .init(zstdLevel: nil, alignment: 64, threads: 1)) {
            ContainerMetadata(config: fresh.config, created: .init(command: "test", parameters: [:]), extra: [:])
        }
        let written = try LLMQContainerReader.open(path: dir + "/t.llmq").model
        for tensor in view.tensors {
            #expect(Array(try written.data(named: tensor.name)) == Array(try view.data(tensor)), "\(tensor.name)")
        }
    }
}
