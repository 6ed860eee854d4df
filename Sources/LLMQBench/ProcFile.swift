#if canImport(Glibc)
import Glibc
#endif

/// The "key: value" text files of /proc.
enum ProcFile {
    /// The value of the first line of `path` that starts with `key` and a colon, trimmed.
    static func field(_ key: String, in path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            guard text.hasPrefix(key), let colon = text.firstIndex(of: ":"),
                  text[..<colon].trimmingCharacters(in: " \t") == key else { continue }
            return text[text.index(after: colon)...].trimmingCharacters(in: " \t\n")
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}
