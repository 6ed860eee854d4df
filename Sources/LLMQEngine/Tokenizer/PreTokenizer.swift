/// Splits text into the words a byte-level BPE merges within, as llama.cpp does for the
/// `tokenizer.ggml.pre` names it maps to the GPT-2 expression
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`,
/// optionally after first cutting every digit out on its own (`\p{N}`, SmolLM's and StarCoder's rule).
public struct PreTokenizer: Sendable {
    public let splitsDigits: Bool

    /// llama.cpp's `tokenizer.ggml.pre` names that use the GPT-2 expression alone, and those that
    /// split digits first.
    static let gpt2Names: Set<String> = [
        "gpt-2", "phi-2", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de", "gigachat", "mellum", "a.x-4.0", "exaone4",
        "mpt", "olmo", "jais", "trillion", "granite-docling",
    ]
    static let digitNames: Set<String> = ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"]

    /// nil for names whose rules llmq does not implement; a missing name means GPT-2's (the rules
    /// of the original GPT-2 vocabulary; llama.cpp falls back to its own "default" instead).
    public init?(name: String?) {
        guard let name else { splitsDigits = false; return }
        if Self.gpt2Names.contains(name) { splitsDigits = false } else if Self.digitNames.contains(name) { splitsDigits = true } else { return nil }
    }

    public static var knownNames: [String] { (gpt2Names.union(digitNames)).sorted() }

    /// The words of `text`, as ranges of its scalars.
    public func split(_ text: [Unicode.Scalar]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        guard splitsDigits else {
            Self.gpt2(text, 0..<text.count, into: &words)
            return words
        }
        var start = 0
        for (i, c) in text.enumerated() where c.isNumber {
            Self.gpt2(text, start..<i, into: &words)
            words.append(i..<(i + 1))
            start = i + 1
        }
        Self.gpt2(text, start..<text.count, into: &words)
        return words
    }

    private enum Class { case letter, number, space, other, none }

    /// The GPT-2 expression over `segment`, matched by hand: the first alternative that matches at
    /// each position wins, and `\s+(?!\S)` leaves the last space of a run to the word after it.
    private static func gpt2(_ s: [Unicode.Scalar], _ segment: Range<Int>, into words: inout [Range<Int>]) {
        let end = segment.upperBound
        func cls(_ i: Int) -> Class {
            guard i < end else { return .none }
            let c = s[i]
            return c.isLetter ? .letter : c.isNumber ? .number : c.properties.isWhitespace ? .space : .other
        }
        var pos = segment.lowerBound
        while pos < end {
            let start = pos
            let c = s[pos]
            if c == "'", pos + 1 < end {
                let n = s[pos + 1]
                if n == "s" || n == "t" || n == "m" || n == "d" {
                    pos += 2
                    words.append(start..<pos)
                    continue
                }
                if pos + 2 < end, [("r", "e"), ("v", "e"), ("l", "l")].contains(where: { $0.0 == n && $0.1 == s[pos + 2] }) {
                    pos += 3
                    words.append(start..<pos)
                    continue
                }
            }
            // ` ?X+` for letters, numbers and other symbols: an optional leading space, then a run.
            let lead = c == " " ? cls(pos + 1) : cls(pos)
            if lead == .letter || lead == .number || lead == .other {
                if c == " " { pos += 1 }
                while cls(pos) == lead { pos += 1 }
                words.append(start..<pos)
                continue
            }
            var spaces = 0
            while cls(pos + spaces) == .space { spaces += 1 }
            if spaces > 1 && pos + spaces < end {
                pos += spaces - 1
            } else {
                pos += max(spaces, 1)
            }
            words.append(start..<pos)
        }
    }
}

extension Unicode.Scalar {
    /// `\p{L}`
    var isLetter: Bool {
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    /// `\p{N}`
    var isNumber: Bool {
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }
}
