import Foundation

/// POSIX shell quoting: the result is read by `sh` as exactly one word with the same bytes.
public enum ShellQuote {
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
