/// Follows a `run:` script through the POSIX sh and bash grammar so that each `${{ }}` value is
/// referenced in the one form that keeps it a single literal word where it stands, and refused
/// where no form can (docs/pipelines.md, "Values in run:").
///
/// Values reach the shell as environment variables; the script only references them. Where the
/// reference stands decides how: `"${V}"` in a word, `${V}` inside double quotes and in an
/// unquoted heredoc body (neither is word-split). Where the text is read again as code —
/// arithmetic, `[[ ]]`, single quotes, `sh -c`/`eval`/`ssh` arguments, quoted heredocs, input
/// piped into a shell — no reference is safe, and the value is refused. What the tracker cannot
/// follow it refuses too: it fails closed.
///
/// ```swift
/// var context = ShellContext()
/// context.consume("cat > app.env <<EOF\nPORT=")
/// context.value(0)                   // .heredoc: `${RUNNER_VALUE_1}`, written as its exact bytes
/// context.consume("\nEOF\nsh -c 'echo ")
/// context.value(1)                   // refused: inside single quotes
/// context.finish()
/// context.refusals                   // [1: "inside single quotes, …"]
/// ```
struct ShellContext {
    /// How the value at a position is referenced.
    enum Slot: Equatable {
        /// A word (or part of one) outside quotes: `"${V}"`.
        case word
        /// Inside double quotes: `${V}`.
        case doubleQuoted
        /// An unquoted heredoc body, not word-split: `${V}`.
        case heredoc
        /// A `#` comment: the shell ignores it.
        case comment

        /// The reference to the environment variable `name` for this slot.
        func reference(_ name: String) -> String {
            self == .word ? "\"${\(name)}\"" : "${\(name)}"
        }

        /// `value` written so that a reader of the script sees its exact text here (`runner plan`).
        func display(_ value: String) -> String {
            switch self {
            case .word: return ShellQuote.quote(value)
            case .heredoc, .comment: return value
            case .doubleQuoted:
                var out = ""
                for ch in value {
                    if ch == "\\" || ch == "\"" || ch == "$" || ch == "`" { out.append("\\") }
                    out.append(ch)
                }
                return out
            }
        }
    }

    /// The values that cannot stay one literal word where they stand, by index, with the reason.
    private(set) var refusals: [Int: String] = [:]
    var stack = [Frame(.top)]
    /// Set when the script goes where the tracker cannot follow; every later value is refused.
    var lost: String?
    /// Names the script gave the integer attribute (`declare -i n`): bash evaluates what is
    /// assigned to them as arithmetic.
    var integerNames: Set<String> = []

    enum Kind: Equatable {
        case top, subshell, group, commandSub, backtick, processSub, arrayLiteral
        case doubleQuote, singleQuote, dollarSingle, parameter, arithmetic, heredoc

        var isCommand: Bool { [.top, .subshell, .group, .commandSub, .backtick, .processSub, .arrayLiteral].contains(self) }
    }

    struct Heredoc {
        var delimiter: String
        var stripTabs: Bool
        var quoted: Bool
        /// Why the body is code (`bash <<EOF`, `cat <<EOF | ssh host`), when it is.
        var taint: String?
        var decided = false
    }

    struct Frame {
        var kind: Kind
        /// Every value inside this frame is refused for this reason.
        var taint: String?
        var values: [Int] = []
        var escaped = false
        /// A `$` ended the text part: the value follows it directly.
        var dollar = false
        // Command frames.
        var words: [ShellWord] = []
        var word: ShellWord?
        var comment = false
        var redirect = false
        /// The redirection being read feeds standard input (`<`, `<<<`).
        var inputRedirect = false
        /// Values in input redirections (`<<< "${V}"`, `< ${{ f }}`) of the current command.
        var inputValues: [Int] = []
        var heredocNext: Bool?
        var heredocs: [Heredoc] = []
        var cases: [Bool] = []
        var caseWords = 0
        var bracket = false
        var pipeline: [Int] = []
        /// Values of `( )`, `{ }` and compound commands (`for … done`) ending in the current command.
        var groupValues: [Int] = []
        /// Values inside each open compound command (`if`, `while`, `until`, `for`, `case`).
        var compounds: [[Int]] = []
        var afterPipe = false
        var pipeTaint: String?
        var sawBackslash = false
        // Arithmetic and parameter frames.
        var depth = 0
        /// Old-style arithmetic `$[ … ]`, closed by `]`.
        var square = false
        // Heredoc bodies.
        var bodies: [Heredoc] = []
        var line = ""
        var lineDynamic = false

        init(_ kind: Kind, taint: String? = nil) {
            self.kind = kind
            self.taint = taint
        }
    }

    static let arithmetic = "in arithmetic (`$(( ))`, `(( ))`, `$[ ]`), where bash evaluates an array subscript in the value: `a[$(cmd)]` runs cmd (a number must also be checked: give the param `pattern: '^[0-9]+$'`)"
    static let doubleBracket = "inside `[[ ]]`, where bash evaluates operands of -eq, -lt… as arithmetic: `a[$(cmd)]` runs cmd (use `[ ]`, and check numbers with a param `pattern:`)"

    // MARK: - Input

    /// Advances over literal script text.
    mutating func consume(_ text: String) {
        // Unicode scalars: "\r\n" must stay two characters, as the shell reads it.
        let chars = text.unicodeScalars.map(Character.init)
        var i = 0
        while i < chars.count {
            let kind = stack[stack.count - 1].kind
            stack[stack.count - 1].dollar = false
            switch kind {
            case .doubleQuote: i = doubleQuoteStep(chars, i)
            case .singleQuote: i = singleQuoteStep(chars, i)
            case .dollarSingle: i = dollarSingleStep(chars, i)
            case .parameter, .arithmetic: i = nestedStep(chars, i)
            case .heredoc: i = heredocStep(chars, i)
            default: i = commandStep(chars, i)
            }
        }
    }

    /// A `${{ }}` value (number `index`) stands here: how to reference it. When it cannot stay one
    /// literal word here, `refusals[index]` says why (the slot returned is then only a fallback).
    @discardableResult
    mutating func value(_ index: Int) -> Slot {
        if let lost {
            refuse([index], "the runner cannot follow the shell syntax before it (\(lost))")
            return .word
        }
        let top = stack.count - 1
        let frame = stack[top]
        if frame.escaped { refuse([index], "directly after a backslash, which would quote the reference instead of the value") }
        if frame.dollar { refuse([index], "directly after `$`") }
        switch frame.kind {
        case .singleQuote:
            refuse([index], "inside single quotes: text in single quotes is nearly always a program for another interpreter (sh -c, awk, python -c, jq), which would read the value as code")
        case .dollarSingle: refuse([index], "inside `$'…'`")
        case .parameter: refuse([index], "inside `${…}`, where it could be a pattern, an offset or a subscript")
        case .arithmetic: refuse([index], frame.taint ?? Self.arithmetic)
        case .doubleQuote:
            if let taint = frame.taint { refuse([index], taint) }
            stack[top].values.append(index)
            return .doubleQuoted
        case .heredoc:
            guard let body = frame.bodies.first else { return .heredoc }
            if body.quoted {
                refuse([index], "in a quoted heredoc (`<<'EOF'`), whose body is not expanded: the reference would be written literally")
            } else if let taint = body.taint ?? frame.taint {
                refuse([index], taint)
            }
            stack[top].lineDynamic = true
            stack[top].values.append(index)
            return .heredoc
        default:
            if frame.comment { return .comment }
            if frame.kind == .backtick, frame.sawBackslash {
                refuse([index], "inside a backquoted command with backslashes, which the shell reads twice (write `$( )`)")
            }
            if let taint = wordTaint() { refuse([index], taint) }
            ensureWord()
            stack[top].word?.appendUnknown()
            stack[top].word?.quoted = true
            stack[top].word?.values.append(index)
            stack[top].values.append(index)
            return .word
        }
        return .word
    }

    /// The script ended: runs the checks that wait for the end of a command.
    mutating func finish() {
        if stack[stack.count - 1].kind.isCommand {
            endWord()
            endCommand(pipe: false)
        }
    }

    // MARK: - Steps, one per kind of frame

    private mutating func commandStep(_ chars: [Character], _ i: Int) -> Int {
        let top = stack.count - 1
        let c = chars[i]
        let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
        let next2: Character? = i + 2 < chars.count ? chars[i + 2] : nil
        if stack[top].comment {
            if c == "\n" {
                stack[top].comment = false
                newline()
            }
            return i + 1
        }
        if stack[top].escaped {
            stack[top].escaped = false
            if c != "\n" { ensureWord(); stack[top].word?.append(c) }
            return i + 1
        }
        let kind = stack[top].kind
        if stack[top].bracket, "()<>&|".contains(c) {
            endWord()
            return i + 1
        }
        switch c {
        case "\\" where next == "\n":
            return i + 2  // a line continuation: the shell removes it before parsing
        case "\\":
            ensureWord()
            stack[top].word?.quoted = true
            stack[top].escaped = true
            if kind == .backtick { stack[top].sawBackslash = true }
            return i + 1
        case "'":
            ensureWord()
            stack[top].word?.quoted = true
            push(.singleQuote)
            return i + 1
        case "\"":
            ensureWord()
            stack[top].word?.quoted = true
            push(.doubleQuote, taint: wordTaint())
            return i + 1
        case "`":
            return backtick(i)
        case "$":
            return dollar(chars, i)
        case "#" where stack[top].word == nil:
            stack[top].comment = true
            return i + 1
        case " ", "\t":
            endWord()
            return i + 1
        case "\n":
            endWord()
            newline()
            return i + 1
        case ";":
            endWord()
            endCommand(pipe: false)
            if next == ";" || next == "&" {
                if !stack[top].cases.isEmpty { stack[top].cases[stack[top].cases.count - 1] = true }
                return i + (next == ";" && next2 == "&" ? 3 : 2)
            }
            return i + 1
        case "&":
            endWord()
            if next == ">" {
                stack[top].redirect = true
                return i + (next2 == ">" ? 3 : 2)
            }
            endCommand(pipe: false)
            return i + (next == "&" ? 2 : 1)
        case "|":
            endWord()
            if stack[top].cases.last == true { return i + 1 }
            if next == "|" {
                endCommand(pipe: false)
                return i + 2
            }
            endCommand(pipe: true)
            return i + (next == "&" ? 2 : 1)
        case "<", ">":
            if let word = stack[top].word, !word.text.isEmpty, word.text.allSatisfy(\.isNumber), word.values.isEmpty {
                stack[top].word = nil  // a file descriptor number: `2>&1`
            } else {
                endWord()
            }
            if next == "(" {
                ensureWord()
                stack[top].word?.appendUnknown()
                push(.processSub, taint: wordTaint())
                return i + 2
            }
            if c == "<", next == "<" {
                if next2 == "<" {
                    stack[top].redirect = true
                    stack[top].inputRedirect = true
                    return i + 3
                }
                stack[top].heredocNext = next2 == "-"
                return i + (next2 == "-" ? 3 : 2)
            }
            stack[top].redirect = true
            stack[top].inputRedirect = c == "<"
            if let next, ">|&".contains(next) || (c == "<" && next == ">") { return i + 2 }
            return i + 1
        case "(":
            if let word = stack[top].word {
                if word.text.hasSuffix("=") {
                    push(.arrayLiteral, taint: wordTaint())
                    return i + 1
                }
                if next == ")" {  // a function definition: `name() { … }`
                    endWord()
                    endCommand(pipe: false)
                    return i + 2
                }
                lose("a parenthesis inside a word")
                return i + 1
            }
            if stack[top].cases.last == true { return i + 1 }
            if next == "(" {
                push(.arithmetic, taint: Self.arithmetic)
                return i + 2
            }
            endCommand(pipe: false)
            push(.subshell, taint: stack[top].taint)
            return i + 1
        case ")":
            endWord()
            if stack[top].cases.last == true {
                stack[top].cases[stack[top].cases.count - 1] = false
                stack[top].words = []
                return i + 1
            }
            if [.subshell, .commandSub, .processSub, .arrayLiteral].contains(kind) {
                if kind != .arrayLiteral { endCommand(pipe: false) }
                close()
                return i + 1
            }
            lose("an unmatched `)`")
            return i + 1
        default:
            ensureWord()
            stack[top].word?.append(c)
            return i + 1
        }
    }

    private mutating func doubleQuoteStep(_ chars: [Character], _ i: Int) -> Int {
        let top = stack.count - 1
        let c = chars[i]
        if stack[top].escaped {
            stack[top].escaped = false
            appendToWord(c)
            return i + 1
        }
        switch c {
        case "\\":
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            if next == "\n" { return i + 2 }  // a line continuation, removed by the shell
            // Before a value (end of this text) the backslash would escape the reference's `$`.
            if next == nil || "$`\"\\\n".contains(next!) { stack[top].escaped = true } else { appendToWord(c) }
            return i + 1
        case "\"":
            close()
            return i + 1
        case "$": return dollar(chars, i)
        case "`": return backtick(i)
        default:
            appendToWord(c)
            return i + 1
        }
    }

    private mutating func singleQuoteStep(_ chars: [Character], _ i: Int) -> Int {
        if chars[i] == "`", stack.contains(where: { $0.kind == .backtick }) {
            lose("a backquote inside quotes inside a backquoted command")  // the shell ends the command there
        }
        if chars[i] == "'" { close() } else { appendToWord(chars[i]) }
        return i + 1
    }

    private mutating func dollarSingleStep(_ chars: [Character], _ i: Int) -> Int {
        switch chars[i] {
        case "\\": return i + 2
        case "'": close(); return i + 1
        default:
            appendToWord(chars[i])
            return i + 1
        }
    }

    /// Inside `${…}` and arithmetic: only nesting matters, every value here is refused.
    private mutating func nestedStep(_ chars: [Character], _ i: Int) -> Int {
        let top = stack.count - 1
        let c = chars[i]
        let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
        let arithmetic = stack[top].kind == .arithmetic
        if stack[top].square, "[]".contains(c) {
            if c == "[" { stack[top].depth += 1 } else if stack[top].depth > 0 { stack[top].depth -= 1 } else { close() }
            return i + 1
        }
        switch c {
        case "\\": return i + 2
        case "'":
            push(.singleQuote)
            return i + 1
        case "\"":
            push(.doubleQuote, taint: stack[top].taint)
            return i + 1
        case "`": return backtick(i)
        case "$": return dollar(chars, i)
        case "(" where arithmetic && !stack[top].square, "{" where !arithmetic:
            stack[top].depth += 1
            return i + 1
        case ")" where arithmetic && !stack[top].square:
            if stack[top].depth > 0 {
                stack[top].depth -= 1
                return i + 1
            }
            guard next == ")" else {
                lose("a `)` closing arithmetic alone")
                return i + 1
            }
            close()
            return i + 2
        case "}" where !arithmetic:
            if stack[top].depth > 0 {
                stack[top].depth -= 1
            } else {
                close()
            }
            return i + 1
        default:
            return i + 1
        }
    }

    private mutating func heredocStep(_ chars: [Character], _ i: Int) -> Int {
        let top = stack.count - 1
        let c = chars[i]
        guard let body = stack[top].bodies.first else {
            close()
            return i
        }
        if stack[top].escaped {
            stack[top].escaped = false
            if c != "\n" { stack[top].line.append(c) }
            return i + 1
        }
        if c == "\n" {
            var line = Substring(stack[top].line)
            if body.stripTabs { line = line.drop { $0 == "\t" } }
            if !stack[top].lineDynamic, line == body.delimiter {
                stack[top].bodies.removeFirst()
                if stack[top].bodies.isEmpty { close() }
            }
            if stack.count - 1 == top {
                stack[top].line = ""
                stack[top].lineDynamic = false
            }
            return i + 1
        }
        if body.quoted {
            stack[top].line.append(c)
            return i + 1
        }
        switch c {
        case "\\":
            stack[top].escaped = true
            stack[top].line.append(c)
            return i + 1
        case "$":
            stack[top].lineDynamic = true
            return dollar(chars, i)
        case "`":
            stack[top].lineDynamic = true
            return backtick(i)
        default:
            stack[top].line.append(c)
            return i + 1
        }
    }

    // MARK: - Shared pieces

    /// `$` in a command, double quotes, a heredoc body, `${…}` or arithmetic.
    private mutating func dollar(_ chars: [Character], _ i: Int) -> Int {
        let top = stack.count - 1
        let kind = stack[top].kind
        guard i + 1 < chars.count else {
            markUnknown()
            stack[top].dollar = true
            return i + 1
        }
        let next = chars[i + 1]
        let next2: Character? = i + 2 < chars.count ? chars[i + 2] : nil
        switch next {
        case "(":
            markUnknown()
            if next2 == "(" {
                push(.arithmetic, taint: Self.arithmetic)
                return i + 3
            }
            push(.commandSub, taint: nestedTaint())
            return i + 2
        case "{":
            markUnknown()
            push(.parameter, taint: "inside `${…}`")
            return i + 2
        case "[":
            markUnknown()  // bash's old arithmetic `$[ … ]` (dash leaves it literal: refusing is safe)
            push(.arithmetic, taint: Self.arithmetic)
            stack[stack.count - 1].square = true
            return i + 2
        case "'" where kind.isCommand:
            ensureWord()
            push(.dollarSingle)
            return i + 2
        case "\"" where kind.isCommand:
            ensureWord()
            push(.doubleQuote, taint: wordTaint())
            return i + 2
        default:
            if next == "_" || (next.isASCII && next.isLetter) {
                markUnknown()
                var j = i + 1
                while j < chars.count, chars[j] == "_" || (chars[j].isASCII && (chars[j].isLetter || chars[j].isNumber)) { j += 1 }
                return j
            }
            if "@*#?$!-0123456789".contains(next) {
                markUnknown()
                return i + 2
            }
            if kind.isCommand || kind == .doubleQuote { appendToWord("$") }
            return i + 1
        }
    }

    private mutating func backtick(_ i: Int) -> Int {
        if stack[stack.count - 1].kind == .backtick {
            endWord()
            endCommand(pipe: false)
            close()
            return i + 1
        }
        if stack.contains(where: { $0.kind == .backtick }) {
            lose("a backquote inside a part of a backquoted command")
            return i + 1
        }
        markUnknown()
        push(.backtick, taint: nestedTaint())
        return i + 1
    }

    private mutating func newline() {
        let top = stack.count - 1
        endCommand(pipe: false)
        if stack[top].heredocNext != nil {
            stack[top].heredocNext = nil
            lose("a heredoc without a delimiter")
        }
        let bodies = stack[top].heredocs
        guard !bodies.isEmpty else { return }
        stack[top].heredocs = []
        var frame = Frame(.heredoc, taint: stack[top].taint)
        frame.bodies = bodies
        stack.append(frame)
    }

    mutating func push(_ kind: Kind, taint: String? = nil) {
        stack.append(Frame(kind, taint: taint))
    }

    /// Ends the innermost frame; its values become part of the enclosing word.
    mutating func close() {
        guard stack.count > 1 else { return }
        let child = stack.removeLast()
        let top = stack.count - 1
        stack[top].values += child.values
        if child.kind == .subshell || child.kind == .group {
            stack[top].groupValues += child.values
        } else if stack[top].kind.isCommand, child.kind != .heredoc, !child.values.isEmpty {
            ensureWord()
            stack[top].word?.values += child.values
        }
    }

    mutating func ensureWord() {
        let top = stack.count - 1
        if stack[top].word == nil { stack[top].word = ShellWord() }
    }

    /// Literal text of a quoted part, added to the word it belongs to.
    private mutating func appendToWord(_ c: Character) {
        guard let index = stack.lastIndex(where: { $0.kind.isCommand || $0.kind == .heredoc }), stack[index].kind.isCommand else { return }
        if stack[index].word == nil { stack[index].word = ShellWord() }
        stack[index].word?.append(c)
    }

    /// An expansion (`$x`, `$(…)`) in the current word: its text is only known at run time.
    private mutating func markUnknown() {
        guard let index = stack.lastIndex(where: { $0.kind.isCommand || $0.kind == .heredoc }) else { return }
        if stack[index].kind == .heredoc {
            stack[index].lineDynamic = true
            return
        }
        if stack[index].word == nil { stack[index].word = ShellWord() }
        stack[index].word?.appendUnknown()
    }

    /// The taint of a frame opened here (`$(…)`, backquotes).
    private func nestedTaint() -> String? {
        let frame = stack[stack.count - 1]
        if frame.kind.isCommand { return wordTaint() }
        if frame.kind == .heredoc { return frame.bodies.first?.taint ?? frame.taint }
        return frame.taint
    }

    mutating func refuse(_ values: [Int], _ reason: String) {
        for v in values where refusals[v] == nil { refusals[v] = reason }
    }

    mutating func lose(_ reason: String) {
        if lost == nil { lost = reason }
    }
}
