/// One word of a shell command as the position tracker sees it: its literal text with quotes
/// removed, and which `${{ }}` values (or other expansions) stand in it.
struct ShellWord {
    /// Stands in `text` where a value or an expansion (`$x`, `$(…)`) goes: its text is unknown.
    static let unknown: Character = "\u{0}"

    /// The literal text, quotes removed, `unknown` for each value or expansion.
    var text = ""
    /// Indices of the values standing in this word, directly or inside a `$(…)` of it.
    var values: [Int] = []
    /// Whether any part was quoted or escaped (a quoted heredoc delimiter, not a reserved word).
    var quoted = false

    /// Whether part of the word's text is only known at run time.
    var dynamic: Bool { text.contains(Self.unknown) }

    /// The text before the first unknown part.
    var literalPrefix: String { String(text.prefix { $0 != Self.unknown }) }

    /// The literal text after the last unknown part.
    var literalSuffix: String { String(text.reversed().prefix { $0 != Self.unknown }.reversed()) }

    init() {}

    /// Element `index` of an argv list (a plugin's list form, no shell between): its literal
    /// text, `unknown` where an expression stands.
    init(argument: TemplateValue, index: Int) {
        switch argument {
        case .literal(let value, _): text = value.interpolated
        case .template(let template):
            for part in template.parts {
                switch part {
                case .text(let literal): text += literal
                case .expression: appendUnknown()
                }
            }
        case .list, .map: appendUnknown()
        }
        if !argument.expressions.isEmpty { values = [index] }
    }

    mutating func append(_ c: Character) { text.append(c) }

    mutating func appendUnknown() { text.append(Self.unknown) }

    /// `NAME=…`, `NAME+=…` or `NAME[…]=…` as a literal start: a shell assignment.
    static func isAssignment(_ text: String) -> Bool {
        guard let eq = text.firstIndex(of: "=") else { return false }
        var name = text[..<eq]
        if name.hasSuffix("+") { name = name.dropLast() }
        if let bracket = name.firstIndex(of: "["), name.hasSuffix("]") { name = name[..<bracket] }
        return ShellQuote.isVariableName(String(name))
    }
}
