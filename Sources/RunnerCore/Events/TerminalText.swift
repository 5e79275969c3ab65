/// Text from commands and params made safe to print on a terminal: control characters (ESC
/// included), C1 controls and bidirectional overrides are shown as escapes (`\x1b`, `\u{9b}`,
/// `\u{202e}`) instead of being sent raw, so a command's output cannot move the cursor, clear
/// the screen, set the window title or reorder what the user reads. Tab stays a tab.
///
/// Only the terminal view uses this: the run store and `--output json` keep what was printed.
public enum TerminalText {
    /// `text` with every unsafe character replaced by its visible escape.
    public static func visible(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) {
                out.append(contentsOf: escape(scalar).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Multi-line text (a plan, a list of problems) with each line made visible: the line breaks
    /// stay, everything else unsafe is escaped.
    public static func visibleLines(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 != "\n" && isUnsafe($0) }) else { return text }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { visible(String($0)) }.joined(separator: "\n")
    }

    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09: false
        case 0x00..<0x20, 0x7F, 0x80..<0xA0: true
        case 0x202A...0x202E, 0x2066...0x2069: true  // bidi embeddings, overrides, isolates
        default: false
        }
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        if scalar.value < 0x80 { return "\\x" + (hex.count < 2 ? "0" : "") + hex }
        return "\\u{\(hex)}"
    }
}
