import Foundation
import LLMQCore
import LLMQBench
import LLMQTestSupport
import Testing

/// No reader allocates what a header claims: `llmq` runs under `ulimit -v` (address space), so an
/// allocation sized by a lying count, length or shape would kill it instead of ending in an error.
@Suite("Memory a hostile file can make llmq allocate")
struct BoundedAllocationCLITests {
    /// Address space for one llmq process, KiB: the binary and its libraries take ~80 MB of it.
    static let addressSpace = 256 << 10

    struct Hostile: CustomTestStringConvertible, Sendable {
        var label: String
        var name: String
        var bytes: [UInt8]
        var command = "inspect"
        var testDescription: String { label }
    }

    static func le<T: FixedWidthInteger>(_ values: T...) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    }

    static func ggufString(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

    /// A GGUF v3 header: tensor count, key/value count, then `rest`.
    static func gguf(tensors: UInt64 = 0, keys: UInt64 = 1, _ rest: [UInt8]) -> [UInt8] {
        Array("GGUF".utf8) + le(UInt32(3)) + le(tensors, keys) + rest
    }

    static func safetensors(_ header: String, length: UInt64? = nil) -> [UInt8] {
        le(length ?? UInt64(header.utf8.count)) + Array(header.utf8)
    }

    /// stories260K's container with header fields replaced (and the header checksum made to match, so
    /// the fields themselves are what the reader must distrust).
    static func container(_ patches: [(offset: Int, value: UInt64)]) throws -> [UInt8] {
        let dir = try Fixtures.scratch()
        let r = try Fixtures.llmq("convert", Fixtures.stories260K, dir + "/m.llmq", "-z", Fixtures.tok512)
        guard r.status == 0 else { throw Fixtures.FixtureError(r.stderr) }
        var bytes = try Fixtures.read(dir + "/m.llmq")
        for p in patches { bytes.replaceSubrange(p.offset..<(p.offset + 8), with: le(p.value)) }
        let checksum = bytes.withUnsafeBytes { XXH64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<120])) }
        bytes.replaceSubrange(120..<128, with: le(checksum))
        return bytes
    }

    static let claims: [Hostile] = {
        let huge = UInt64(1) << 40
        var cases = [
            Hostile(label: "llama2.c: dim, vocab and seq_len of 2^30", name: "m.bin",
                    bytes: le(Int32(1 << 30), Int32(1 << 30), 4, 8, 8, Int32(1 << 30), Int32(1 << 30)) + [UInt8](repeating: 0, count: 64)),
            Hostile(label: "llama2.c tokenizer: a token 2^30 bytes long", name: "tok.bin",
                    bytes: le(Int32(1 << 16)) + le(Float(0).bitPattern) + le(Int32(1 << 30)) + [1, 2, 3], command: "run"),
            Hostile(label: "GGUF: 2^40 tensors", name: "m.gguf", bytes: gguf(tensors: huge, keys: 0, [])),
            Hostile(label: "GGUF: 2^40 metadata entries", name: "m.gguf", bytes: gguf(keys: huge, [])),
            Hostile(label: "GGUF: a key 2^40 bytes long", name: "m.gguf", bytes: gguf(le(huge) + [0x61])),
            Hostile(label: "GGUF: an array of 2^40 strings", name: "m.gguf",
                    bytes: gguf(ggufString("a") + le(UInt32(9), UInt32(8)) + le(huge) + ggufString("x"))),
            Hostile(label: "GGUF: a tensor of 2^40 × 2^40 elements", name: "m.gguf",
                    bytes: gguf(tensors: 1, keys: 0, ggufString("t") + le(UInt32(2)) + le(huge, huge) + le(UInt32(0)) + le(UInt64(0)))),
            Hostile(label: "safetensors: a 2^40-byte header", name: "m.safetensors", bytes: safetensors("{}", length: huge)),
            Hostile(label: "safetensors: shape [2^40, 2^40]", name: "m.safetensors",
                    bytes: safetensors(#"{"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,4]}}"#) + [0, 0, 0, 0]),
            Hostile(label: "safetensors: data_offsets [0, 2^60]", name: "m.safetensors",
                    bytes: safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,1152921504606846976]}}"#)),
        ]
        // tensor_count (u32 at 16), table length (48), tokenizer length (64), metadata length (80).
        let containerPatches: [(String, [(Int, UInt64)])] = [
            ("2^32 − 1 tensors", [(16, 0xFFFF_FFFF)]), ("a 2^40-byte tensor table", [(48, huge)]),
            ("a 2^40-byte tokenizer", [(64, huge)]), ("2^40 bytes of metadata", [(80, huge)]),
        ]
        for (label, patches) in containerPatches {
            cases.append(Hostile(label: "llmq container: \(label)", name: "m.llmq", bytes: (try? container(patches)) ?? []))
        }
        return cases
    }()

    @Test("headers claiming enormous counts, lengths and shapes end in an error within the address-space limit",
          arguments: claims)
    func enormousClaims(_ hostile: Hostile) throws {
        #expect(!hostile.bytes.isEmpty)
        try refused(hostile)
    }

    /// Writes the file, runs `llmq inspect` on it (or `llmq run` with it as the tokenizer) under the
    /// address-space limit, and expects exit 2 naming the file.
    @discardableResult
    func refused(_ hostile: Hostile) throws -> ChildProcess.Exit {
        let path = try Fixtures.scratch() + "/" + hostile.name
        try Fixtures.write(hostile.bytes, to: path)
        let arguments = hostile.command == "run" ? ["run", Fixtures.stories260K, "-z", path, "-n", "4"] : ["inspect", path]
        let exit = try ChildProcess(Fixtures.llmq, arguments, limits: "ulimit -v \(Self.addressSpace)").wait()
        #expect(exit.status == 2 && exit.stderr.hasPrefix("llmq: error: \(path)"), "signal \(exit.signal ?? 0): \(exit.stderr)")
        return exit
    }

    /// Files whose counts are true: 16 MB of one GGUF array (of u8, of empty strings, of empty
    /// arrays), 16 MB of empty llama2.c tokens. What a reader builds from them may not take much
    /// more memory than the file.
    static let fileBytes = 16 << 20
    static let realCounts: [Hostile] = {
        let n = UInt64(fileBytes)
        return [
            Hostile(label: "GGUF: 16 MB u8 array", name: "m.gguf", bytes: gguf(ggufString("a") + le(UInt32(9), UInt32(0)) + le(n) + [UInt8](repeating: 7, count: Int(n)))),
            Hostile(label: "GGUF: 2M empty strings", name: "m.gguf",
                    bytes: gguf(ggufString("a") + le(UInt32(9), UInt32(8)) + le(n / 8) + [UInt8](repeating: 0, count: Int(n)))),
            Hostile(label: "GGUF: 1.4M empty arrays", name: "m.gguf",
                    bytes: gguf(ggufString("a") + le(UInt32(9), UInt32(9)) + le(n / 12)
                                + (0..<(n / 12)).flatMap { _ in le(UInt32(0), UInt32(0)) + le(UInt64(0)) })),
            Hostile(label: "llama2.c tokenizer: 2M empty tokens", name: "tok.bin",
                    bytes: le(Int32(16)) + [UInt8](repeating: 0, count: Int(n)), command: "run"),
        ]
    }()

    @Test("files that really hold millions of values are read in memory proportional to the file", arguments: realCounts)
    func trueCounts(_ hostile: Hostile) throws {
        let exit = try refused(hostile)
        // The process itself (binary, runtime, one mapped copy of the file) is ~40 MB.
        let peak = exit.peakRSSBytes
        #expect(peak < 40 << 20 + 4 * Self.fileBytes, "peak RSS \(peak >> 20) MB for a \(Self.fileBytes >> 20) MB file")
    }
}
