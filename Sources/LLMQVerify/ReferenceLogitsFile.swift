import Foundation
import LLMQCore
import LLMQEngine

/// A reference model's output saved for later comparisons (`formats/reference-logits.md`): the
/// evaluation settings, the token ids, and per scored position the target's log-probability, the
/// most likely tokens (enough to leave at most `tailMass` outside, up to `maxKept`) with theirs,
/// the log of the remaining mass and, where that mass is above `tailMass`, tokens drawn from it
/// (`tailSampleRate` per unit of its probability). A candidate then verifies against it without the reference model.
public struct SavedReference: Sendable {
    public struct Header: Encodable, Sendable, Equatable {
        public var contextLength: Int
        public var chunkCount: Int
        public var scoreAll: Bool
        public var bosID: Int
        /// BOS replaces each chunk's first token (the vocabulary adds BOS). Version 1 files do not
        /// say; there it is inferred from the stored tokens starting with BOS.
        public var substitutesBOS: Bool
        public var vocabSize: Int
        /// Most tokens a record keeps.
        public var maxKept: Int
        /// Records keep tokens until at most this probability is left outside (or `maxKept` is reached).
        public var tailMass: Double
        /// Tokens a record draws from its tail per unit of the tail's probability when more than
        /// `tailMass` is left there (`ReferenceSummary.sampleCount`); 0 in version 1 files.
        public var tailSampleRate: Int
        /// chunkCount × contextLength: the stream as tokenized, before BOS replaces each chunk's first token.
        public var tokenCount: Int
        public var scoredCount: Int
        /// `TokenizerIdentity.hex` of the reference's tokenizer.
        public var tokenizer: String
        /// The model the logits came from, and its format, for reports.
        public var model: String
        public var modelFormat: String
        public var text: String?

        /// - Parameters:
        ///   - model: the reference model (its path and format are recorded).
        ///   - maxKept: capped at the vocabulary size.
        public init(plan: EvaluationPlan, model: Model, tokenizer: any Tokenizer, text: String?,
                    maxKept: Int = Verification.defaultMaxKept, tailMass: Double = Verification.defaultTailMass,
                    tailSampleRate: Int = Verification.defaultTailSampleRate) {
            contextLength = plan.contextLength
            chunkCount = plan.chunkCount
            scoreAll = plan.scoreAll
            bosID = plan.bosID ?? tokenizer.bosID
            substitutesBOS = plan.bosID != nil
            vocabSize = model.config.vocabSize
            self.maxKept = min(maxKept, vocabSize)
            self.tailMass = tailMass
            self.tailSampleRate = tailSampleRate
            tokenCount = plan.chunkCount * plan.contextLength
            scoredCount = plan.scoredTotal
            self.tokenizer = TokenizerIdentity.hex(TokenizerIdentity.fingerprint(tokenizer))
            self.model = model.path
            modelFormat = model.format.description
            self.text = text
        }

        /// Every key formats/reference-logits.md lists for `version`, each of the kind it must be.
        init(_ o: JSONObject, version: UInt32) throws {
            contextLength = try o.int("contextLength")
            chunkCount = try o.int("chunkCount")
            scoreAll = try o.bool("scoreAll")
            bosID = try o.int("bosID")
            substitutesBOS = version >= 2 ? try o.bool("substitutesBOS") : true
            vocabSize = try o.int("vocabSize")
            maxKept = try o.int("maxKept")
            tailMass = try o.double("tailMass")
            tailSampleRate = version >= 2 ? try o.int("tailSampleRate") : 0
            tokenCount = try o.int("tokenCount")
            scoredCount = try o.int("scoredCount")
            tokenizer = try o.string("tokenizer")
            model = try o.string("model")
            modelFormat = try o.string("modelFormat")
            text = try o.optionalString("text")
        }
    }

    public static let magic: [UInt8] = Array("LLMQREF\0".utf8)
    /// Written: 2 (tail samples). Read: 1 and 2.
    public static let version: UInt32 = 2
    static let maxHeaderBytes = 1 << 20
    static let maxTailSampleRate = 1 << 20

    public let path: String
    public let version: UInt32
    public let header: Header
    public let tokens: [Int]
    /// One per scored position, chunk by chunk, positions ascending.
    public let summaries: [ReferenceSummary]

    /// The plan the reference ran.
    public var plan: EvaluationPlan {
        // The header was validated to describe a plan these tokens fill exactly.
        try! EvaluationPlan(tokenCount: header.tokenCount, contextLength: header.contextLength, maxChunks: header.chunkCount,
                            scoreAll: header.scoreAll, bosID: header.substitutesBOS ? header.bosID : nil)
    }

    public static func isReferenceFile(_ path: String) -> Bool {
        guard let file = try? MappedFile(path: path), file.count >= magic.count else { return false }
        return Array(file.bytes[0..<magic.count]) == magic
    }

    public static func read(path: String) throws -> SavedReference {
        let file = try MappedFile(path: path)
        do {
            return try read(file)
        } catch let e as LLMQError {
            throw e.inFile(path)
        }
    }

    private static func read(_ file: MappedFile) throws -> SavedReference {
        var r = ByteReader(file.bytes)
        guard Array(try r.bytes(magic.count, "magic")) == magic else { throw LLMQError(.badMagic, "not an llmq reference-logits file", offset: 0) }
        let version = try r.u32("version")
        guard version == 1 || version == 2 else {
            throw LLMQError(.unsupported, "reference-logits version \(version) (llmq reads 1 and 2)", offset: 8)
        }
        let headerLength = Int(try r.u32("header length"))
        guard headerLength <= maxHeaderBytes else { throw LLMQError(.invalid, "header length \(headerLength) exceeds \(maxHeaderBytes)", offset: 12) }
        let json = try r.bytes(headerLength, "JSON header")
        // The strict parser: no duplicate keys, nothing after the object, bounded nesting.
        var header: Header
        do {
            header = try Header(try JSONObject(try JSONParser.parse(json, base: 16)), version: version)
        } catch let e as LLMQError {
            throw LLMQError(.invalid, "header: \(e.message)", offset: e.offset ?? 16)
        }
        try validate(header)
        try r.skip((8 - r.offset % 8) % 8, "header padding")

        let tokenBytes = try Checked.mul(header.tokenCount, 4, what: "token table")
        let minimumRecords = try Checked.mul(header.scoredCount, version == 1 ? 12 : 16, what: "record table")
        guard tokenBytes <= r.remaining, minimumRecords <= r.remaining - tokenBytes else {
            throw LLMQError(.truncated, "file has \(file.count) bytes, too few for \(header.tokenCount) tokens and \(header.scoredCount) records")
        }
        var tokens: [Int] = []
        tokens.reserveCapacity(header.tokenCount)
        for i in 0..<header.tokenCount {
            let at = r.offset
            let token = Int(try r.i32("token \(i)"))
            guard token >= 0, token < header.vocabSize else { throw LLMQError(.invalid, "token \(token) is outside the vocabulary", offset: at) }
            tokens.append(token)
        }
        // Version 1 wrote tokens that start with BOS exactly when the vocabulary adds it.
        if version == 1 { header.substitutesBOS = tokens.first == header.bosID }
        var summaries: [ReferenceSummary] = []
        summaries.reserveCapacity(header.scoredCount)
        let minKept = min(TokenComparison.overlapWidth, header.vocabSize)
        for j in 0..<header.scoredCount {
            let at = r.offset
            let target = try r.f32("record \(j)")
            let tail = try r.f32("record \(j)")
            let kept = Int(try r.u32("record \(j)"))
            guard kept >= minKept, kept <= header.maxKept else {
                throw LLMQError(.invalid, "record \(j) keeps \(kept) tokens, outside \(minKept)...\(header.maxKept)", offset: at + 8)
            }
            let sampled = version == 1 ? 0 : Int(try r.u32("record \(j)"))
            guard sampled == 0 || (sampled <= ReferenceSummary.sampleCount(tailMass: 1, rate: header.tailSampleRate) && tail > -.infinity) else {
                throw LLMQError(.invalid, "record \(j) draws \(sampled) tail samples, more than a sample rate of \(header.tailSampleRate) allows "
                                    + "or without a tail", offset: at + 12)
            }
            try r.require((kept + sampled) * 8, "record \(j)")
            let ids = try (0..<kept).map { _ in Int(try r.u32("record \(j)")) }
            let logProbs = try (0..<kept).map { _ in try r.f32("record \(j)") }
            let sampleIDs = try (0..<sampled).map { _ in Int(try r.u32("record \(j)")) }
            let sampleLogProbs = try (0..<sampled).map { _ in try r.f32("record \(j)") }
            // Log-probabilities are ≤ 0 (a little rounding above is harmless); only the tail may be −∞.
            guard target.isFinite, target <= 1e-4, !tail.isNaN, tail <= 1e-4,
                  (ids + sampleIDs).allSatisfy({ $0 < header.vocabSize }), (logProbs + sampleLogProbs).allSatisfy({ $0.isFinite && $0 <= 1e-4 }) else {
                throw LLMQError(.invalid, "record \(j) holds a token id outside the vocabulary or an impossible log-probability", offset: at)
            }
            // Most likely first, and no tail token more likely than the least likely listed one:
            // the bound on what the tail can add to the divergence rests on both.
            guard zip(logProbs, logProbs.dropFirst()).allSatisfy({ $0 >= $1 }), sampleLogProbs.allSatisfy({ $0 <= logProbs.last! }) else {
                throw LLMQError(.invalid, "record \(j) lists its tokens out of order", offset: at)
            }
            summaries.append(ReferenceSummary(targetLogProb: target, tailLogProb: tail, ids: ids, logProbs: logProbs,
                                              sampleIDs: sampleIDs, sampleLogProbs: sampleLogProbs))
        }
        guard r.remaining == 0 else { throw LLMQError(.invalid, "\(r.remaining) bytes follow the last record", offset: r.offset) }
        return SavedReference(path: file.path, version: version, header: header, tokens: tokens, summaries: summaries)
    }

    private static func validate(_ h: Header) throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw LLMQError(.invalid, "header: " + message, offset: 16) }
        }
        let limit = 1 << 24
        try check(h.vocabSize >= 1 && h.vocabSize <= limit, "vocab_size \(h.vocabSize) is out of range")
        try check(h.contextLength >= 4 && h.contextLength <= limit, "context length \(h.contextLength) is out of range")
        try check(h.chunkCount >= 1 && h.chunkCount <= limit, "chunk count \(h.chunkCount) is out of range")
        try check(h.bosID >= 0 && h.bosID < h.vocabSize, "BOS id \(h.bosID) is outside the vocabulary")
        try check(h.maxKept >= min(TokenComparison.overlapWidth, h.vocabSize) && h.maxKept <= h.vocabSize,
                  "max kept \(h.maxKept) must be in \(min(TokenComparison.overlapWidth, h.vocabSize))...\(h.vocabSize)")
        try check(h.tailMass >= 0 && h.tailMass < 1, "tail mass \(h.tailMass) must be in [0, 1)")
        try check(h.tailSampleRate >= 0 && h.tailSampleRate <= maxTailSampleRate,
                  "tail sample rate \(h.tailSampleRate) must be in 0...\(maxTailSampleRate)")
        try check(h.tokenCount == (try Checked.mul(h.chunkCount, h.contextLength, what: "token count")),
                  "token count \(h.tokenCount) is not chunks × context")
        let plan = try EvaluationPlan(tokenCount: h.tokenCount, contextLength: h.contextLength, maxChunks: h.chunkCount,
                                      scoreAll: h.scoreAll, bosID: h.bosID)
        try check(h.scoredCount == plan.scoredTotal, "scored count \(h.scoredCount) does not match the plan's \(plan.scoredTotal)")
    }
}

/// Streams a saved reference to disk as the reference model runs (through `AtomicFileWriter`, so
/// an interrupted run leaves no partial file).
public final class ReferenceLogitsWriter {
    public let header: SavedReference.Header
    private let out: AtomicFileWriter
    private var written = 0

    /// - Parameters:
    ///   - tokens: the tokenized text; its first `header.tokenCount` are stored.
    ///   - inputs: files this run reads; overwriting any of them is refused.
    public init(path: String, header: SavedReference.Header, tokens: [Int], refusingToOverwrite inputs: [String]) throws {
        guard tokens.count >= header.tokenCount else {
            throw LLMQError(.usage, "\(tokens.count) tokens for a header that says \(header.tokenCount)", file: path)
        }
        self.header = header
        // Dropped before `commit()` (an error anywhere), the writer deletes its temporary file.
        out = try AtomicFileWriter(path: path, refusingToOverwrite: inputs)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(header)
        try out.write(SavedReference.magic)
        try out.write(SavedReference.version)
        try out.write(UInt32(json.count))
        try out.write([UInt8](json))
        try out.align(to: 8)
        for t in tokens.prefix(header.tokenCount) { try out.write(Int32(t)) }
    }

    public func append(_ s: ReferenceSummary) throws {
        guard s.ids.count <= header.maxKept, s.logProbs.count == s.ids.count, s.sampleLogProbs.count == s.sampleIDs.count,
              s.sampleIDs.count <= ReferenceSummary.sampleCount(tailMass: 1, rate: header.tailSampleRate), written < header.scoredCount else {
            throw LLMQError(.usage, "record \(written) does not fit the header (≤ \(header.maxKept) tokens, sample rate \(header.tailSampleRate), "
                                + "\(header.scoredCount) records)", file: out.path)
        }
        var record: [UInt32] = [s.targetLogProb.bitPattern, s.tailLogProb.bitPattern, UInt32(s.ids.count), UInt32(s.sampleIDs.count)]
        record += s.ids.map { UInt32($0) } + s.logProbs.map(\.bitPattern)
        record += s.sampleIDs.map { UInt32($0) } + s.sampleLogProbs.map(\.bitPattern)
        try record.map(\.littleEndian).withUnsafeBytes { try out.write($0) }
        written += 1
    }

    public func commit() throws {
        guard written == header.scoredCount else {
            throw LLMQError(.usage, "\(written) of \(header.scoredCount) records written", file: out.path)
        }
        try out.commit()
    }
}
