import Dispatch
import LLMQCore

/// Verifies every byte of a container without running the model: the structure (everything
/// opening checks), every tensor's checksum (tensors hashed in parallel), that every zstd tensor
/// decompresses to its raw length, and that all padding is zero.
public enum ContainerCheck {
    public static func run(path: String) -> IntegrityReport {
        var report = IntegrityReport(path: path, format: "llmq", verified: [], problems: [])
        let file: ContainerFile
        do {
            file = try LLMQContainerReader.open(path: path)
        } catch let e as LLMQError {
            report.problems.append(IntegrityReport.Problem(e, place: place(of: e.offset, in: path)))
            return report
        } catch {
            report.problems.append(IntegrityReport.Problem(place: "file", message: "\(error)"))
            return report
        }
        report.format = file.model.format.description
        report.verified = ["header (magic, version, checksum, layout)", "tensor table (checksum, \(file.entries.count) entries)",
                           file.header.tokenizer.length > 0 ? "tokenizer (checksum, structure)" : "no tokenizer",
                           "metadata (checksum, JSON, config)"]

        let model = file.model
        let problems = Locked<[IntegrityReport.Problem]>([])
        let tensors = model.tensors
        DispatchQueue.concurrentPerform(iterations: tensors.count) { i in
            let t = tensors[i]
            // data() verifies the checksum first, then decompresses zstd tensors to their raw length.
            do {
                _ = try model.data(t)
                model.release(t)
            } catch let e as LLMQError {
                problems.withLock { $0.append(IntegrityReport.Problem(place: "tensor", tensor: t.name, offset: t.offset, message: e.message)) }
            } catch {
                problems.withLock { $0.append(IntegrityReport.Problem(place: "tensor", tensor: t.name, offset: t.offset, message: "\(error)")) }
            }
        }
        let compressed = file.entries.filter { $0.compression == .zstd }.count
        report.verified.append("\(tensors.count) tensor checksums" + (compressed > 0 ? ", \(compressed) zstd tensors decompressed" : ""))

        let bytes = model.files[0].bytes
        for region in file.padding {
            let gap = UnsafeRawBufferPointer(rebasing: bytes[region.offset..<(region.offset + region.length)])
            if let bad = gap.firstIndex(where: { $0 != 0 }) {
                problems.withLock {
                    $0.append(IntegrityReport.Problem(place: region.name, offset: region.offset + bad,
                                                      message: "padding byte is \(gap[bad]), not zero"))
                }
            }
        }
        report.verified.append("\(file.padding.count) padding regions (\(file.padding.reduce(0) { $0 + $1.length }) bytes) are zero")
        report.problems = problems.withLock { $0 }.sorted { ($0.offset ?? 0) < ($1.offset ?? 0) }
        return report
    }

    /// Names the section an offset falls in, for errors found while opening.
    static func place(of offset: Int?, in path: String) -> String {
        guard let offset else { return "file" }
        guard offset >= ContainerLayout.headerBytes, let file = try? MappedFile(path: path),
              let header = try? ContainerHeader.decode(file.bytes) else { return "header" }
        for (name, s) in [("tensor table", header.table), ("tokenizer", header.tokenizer), ("metadata", header.metadata)]
        where offset >= s.offset && offset < s.end {
            return name
        }
        return "tensor data"
    }
}
