import Foundation

/// POSIX shell quoting: the result is read by `sh` as exactly one word with the same bytes.
public enum ShellQuote {
    /// A name usable as a shell (and environment) variable, a pipeline id or a param name:
    /// an ASCII letter or `_`, then ASCII letters, digits and `_`.
    public static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// `phone` → `'phone'`, `it's` → `'it'\''s'`. Always quotes, so the output is
    /// safe in any position of a command line.
    public static func quote(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Quotes each argument and joins them with spaces.
    public static func join(_ argv: [String]) -> String {
        argv.map(quote).joined(separator: " ")
    }
}
