import Dispatch
import Foundation
import LLMQCore
import LLMQTestSupport
import Testing

/// Integrity end to end: one flipped bit anywhere in a `.q4`/`.q8` file written by `llmq quantize`
/// fails `inspect --check` (exit 2), and the problem it reports names the place the bit is in.
@Suite("Single-bit damage through inspect --check")
struct BitFlipCLITests {
    /// A stretch of the file and what `inspect --check --json` must report for a flip inside it.
    struct Place {
        var name: String
        var range: Range<Int>
        /// The tensor a flip inside must be blamed on (nil for the header, table, tokenizer, metadata and padding).
        var tensor: String?
    }

    /// The file's layout from `inspect --json`: tensors and named regions, which tile it.
    func places(_ path: String) throws -> [Place] {
        let r = try Fixtures.llmq("inspect", path, "--json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        let regions = try #require(json["regions"] as? [[String: Any]])
        return tensors.map { Place(name: "tensor", range: ($0["offset"] as! Int)..<($0["end"] as! Int), tensor: $0["name"] as? String) }
            + regions.map {
                let offset = $0["offset"] as! Int
                return Place(name: $0["name"] as! String, range: offset..<(offset + ($0["length"] as! Int)))
            }
    }

    /// Every eighth header byte and its last, then the first, middle and last byte of every other place.
    func positions(_ places: [Place]) -> [(Int, Place)] {
        places.flatMap { place -> [(Int, Place)] in
            let r = place.range
            let picks = place.name == "header" ? Array(stride(from: r.lowerBound, to: r.upperBound, by: 8)) + [r.upperBound - 1]
                                               : [r.lowerBound, (r.lowerBound + r.upperBound) / 2, r.upperBound - 1]
            return Set(picks).sorted().map { ($0, place) }
        }
    }

    @Test("a flipped bit in the header, table, tokenizer, metadata, any tensor or padding is reported there",
          arguments: [("q4", ["--zstd"]), ("q8", [])])
    func flips(ext: String, options: [String]) throws {
        let dir = try Fixtures.scratch()
        let good = dir + "/model.\(ext)"
        let made = try Fixtures.llmq(["quantize", Fixtures.stories260K, good, "-z", Fixtures.tok512] + options)
        #expect(made.status == 0, "\(made.stderr)")
        let clean = try Fixtures.llmq("inspect", good, "--check")
        #expect(clean.status == 0, "\(clean.stdout)")
        let places = try places(good)
        #expect(Set(places.map(\.name)).isSuperset(of: ["header", "tensor table", "tokenizer", "metadata", "tensor"]))
        let original = try Fixtures.read(good)
        let cases = positions(places)
        let failures = Locked<[String]>([])
        // Two at a time: each case is a process of its own.
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for (k, (offset, place)) in cases.enumerated() where k % 2 == worker {
                if let failure = check(flipping: offset, of: original, in: dir, expecting: place) {
                    failures.withLock { $0.append(failure) }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.sorted().joined(separator: "\n"))")
        #expect(cases.count > 150, "\(cases.count) positions")
    }

    /// Writes the file with bit 4 of `offset` flipped and runs `inspect --check --json` on it; nil
    /// when it fails with exactly one problem at the expected place.
    func check(flipping offset: Int, of original: [UInt8], in dir: String, expecting place: Place) -> String? {
        var bytes = original
        bytes[offset] ^= 0x10
        let path = dir + "/flip-\(offset).q"
        defer { unlink(path) }
        do {
            try Fixtures.write(bytes, to: path)
            let r = try Fixtures.llmq("inspect", path, "--check", "--json")
            let report = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let problems = report?["problems"] as? [[String: Any]] ?? []
            guard r.status == 2, problems.count == 1, let problem = problems.first else {
                return "offset \(offset) (\(place.name)): exit \(r.status), \(problems.count) problems: \(r.stdout.prefix(400))"
            }
            let reported = problem["place"] as? String
            // A zstd frame header damaged is already refused on opening, as "tensor data".
            let ok = place.tensor.map { problem["tensor"] as? String == $0 && (reported == "tensor" || reported == "tensor data") }
                ?? (reported == place.name && (!place.name.hasPrefix("padding") || problem["offset"] as? Int == offset))
            return ok ? nil : "offset \(offset) in \(place.tensor ?? place.name): reported \(problem)"
        } catch {
            return "offset \(offset): \(error)"
        }
    }
}
