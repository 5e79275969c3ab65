/// Tracks where in a shell command a `${{ }}` stands, so a value reads as its literal text there.
///
/// Safety does not depend on this tracking being right: at run time values reach the shell as
/// environment variables (`reference(_:)`), and the shell never parses an expansion's result as
/// syntax. The tracking decides only quoting, i.e. whether the value stays one word. For display
/// (`runner plan`), `quote(_:)` shows the value itself quoted for its spot:
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

    /// A reference to the environment variable `name` that expands to exactly its value as one
    /// word at the current position.
    func reference(_ name: String) -> String {
        switch state {
        case .unquoted: "\"${\(name)}\""
        case .doubleQuoted: "${\(name)}"
        case .singleQuoted: "'\"${\(name)}\"'"
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
