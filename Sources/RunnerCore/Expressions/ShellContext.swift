/// Tracks where in a shell command a `${{ }}` stands, so a substituted value is quoted for that
/// spot and always reads as literal text:
///
/// | context | `x'y"$z` becomes |
/// |---|---|
/// | unquoted: `echo ${{ v }}` | `'x'\''y"$z'` |
/// | double quotes: `echo "v=${{ v }}"` | `x'y\"\$z` |
/// | single quotes: `echo 'v=${{ v }}'` | `'\''x'\''\'\'''\''y"$z'\''` (close, quote, reopen) |
///
/// Heredoc bodies are not tracked: pass values to heredocs through `env:` instead.
struct ShellContext {
    enum State {
        case unquoted, singleQuoted, doubleQuoted
    }

    private(set) var state = State.unquoted
    private var escaped = false

    /// Advances over literal command text.
    mutating func consume(_ text: String) {
        for ch in text {
            if escaped {
                escaped = false
                continue
            }
            switch (state, ch) {
            case (.unquoted, "\\"), (.doubleQuoted, "\\"): escaped = true
            case (.unquoted, "'"): state = .singleQuoted
            case (.unquoted, "\""): state = .doubleQuoted
            case (.singleQuoted, "'"): state = .unquoted
            case (.doubleQuoted, "\""): state = .unquoted
            default: break
            }
        }
    }

    /// `value` quoted so the shell reads it, at the current position, as exactly its text.
    func quote(_ value: String) -> String {
        switch state {
        case .unquoted:
            return ShellQuote.quote(value)
        case .doubleQuoted:
            var out = ""
            for ch in value {
                if ch == "\\" || ch == "\"" || ch == "$" || ch == "`" { out.append("\\") }
                out.append(ch)
            }
            return out
        case .singleQuoted:
            return "'" + ShellQuote.quote(value) + "'"
        }
    }
}
