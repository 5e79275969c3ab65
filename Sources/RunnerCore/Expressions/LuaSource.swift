/// A lexical view of Lua source, enough for the checks made before a run: which names an
/// expression or chunk reads as globals, which `steps.<id>…` paths it reads, whether it calls
/// `success()` and its kin.
///
/// Strings, long strings, comments and numbers are skipped. Scoping is ignored: a name that a
/// chunk declares or assigns anywhere counts as defined everywhere in it, so the checks built
/// on this refuse only what is certainly wrong.
///
/// ```swift
/// LuaSource("params.app == 'x' and steps.pull.outputs.stdout").paths(from: "steps")
/// // [["steps", "pull", "outputs", "stdout"]]
/// ```
public struct LuaSource: Sendable {
    public struct Token: Sendable, Hashable {
        public enum Kind: Sendable, Hashable { case name, symbol, literal }
        public var kind: Kind
        public var text: String
        /// 1-based line and column in the source.
        public var line: Int
        public var column: Int
    }

    public let tokens: [Token]

    static let keywords: Set<String> = [
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
        "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ]

    /// The functions that make an `if:` decide for itself whether the run's state matters.
    public static let statusFunctions: Set<String> = ["success", "failure", "always", "cancelled"]

    public init(_ source: String) {
        tokens = Self.tokenize(Array(source.unicodeScalars))
    }

    /// A global name read or called: not a field (`a.name`, `a:name`), not a table key
    /// (`{ name = 1 }`), not a keyword, not declared or assigned in the source.
    public struct Use: Sendable, Hashable {
        public var name: String
        public var token: Token
    }

    /// Names the source reads as globals and does not define itself.
    public var freeNames: [Use] {
        let defined = definedNames
        var out: [Use] = []
        // `_ENV` is the chunk's upvalue, not a global.
        for (i, token) in tokens.enumerated() where token.kind == .name && !Self.keywords.contains(token.text) && token.text != "_ENV" {
            if i > 0, [".", ":", "::", "goto"].contains(tokens[i - 1].text) { continue }
            if i + 1 < tokens.count, tokens[i + 1].text == "::" { continue }
            // `local x <const>`: an attribute.
            if i > 1, i + 1 < tokens.count, tokens[i - 1].text == "<", tokens[i + 1].text == ">", tokens[i - 2].kind == .name { continue }
            if isTableKey(at: i) || defined.contains(token.text) { continue }
            out.append(Use(name: token.text, token: token))
        }
        return out
    }

    /// True when the source calls one of `success()`, `failure()`, `always()`, `cancelled()`.
    public var callsStatusFunction: Bool {
        freeNames.contains { Self.statusFunctions.contains($0.name) }
    }

    /// Paths read from the global `root` by dotted names (`steps.pull.outputs.stdout` is
    /// `["steps", "pull", "outputs", "stdout"]`), each with the token of its root.
    /// `steps["pull"]` ends the path at `steps`.
    public func paths(from root: String) -> [(path: [String], token: Token)] {
        var out: [([String], Token)] = []
        for use in freeNames where use.name == root {
            guard var i = tokens.firstIndex(of: use.token) else { continue }
            var path = [root]
            while i + 2 < tokens.count, tokens[i + 1].text == ".", tokens[i + 2].kind == .name {
                path.append(tokens[i + 2].text)
                i += 2
            }
            out.append((path, use.token))
        }
        return out
    }

    /// `{ name = …` or `, name = …` inside a table constructor.
    private func isTableKey(at i: Int) -> Bool {
        guard i > 0, i + 1 < tokens.count, tokens[i + 1].text == "=" else { return false }
        let before = tokens[i - 1].text
        if before == "{" { return true }
        guard before == "," || before == ";" else { return false }
        // `a, b = 1, 2` is an assignment; a key follows a `,` inside braces.
        var depth = 0
        for token in tokens[..<i].reversed() {
            switch token.text {
            case ")", "]", "}": depth += 1
            case "(", "[": if depth == 0 { return false } else { depth -= 1 }
            case "{": if depth == 0 { return true } else { depth -= 1 }
            default: break
            }
        }
        return false
    }

    /// Names declared (`local`, `function`, parameters, `for` variables) or assigned (`x = …`,
    /// `a, b = …`) anywhere in the source.
    var definedNames: Set<String> {
        var out = Set<String>()
        var i = 0
        func namesList(from start: Int) -> (names: [String], next: Int) {
            var names: [String] = []
            var j = start
            while j < tokens.count, tokens[j].kind == .name {
                names.append(tokens[j].text)
                j += 1
                if j + 2 < tokens.count, tokens[j].text == "<", tokens[j + 2].text == ">" { j += 3 }  // <const>, <close>
                guard j < tokens.count, tokens[j].text == "," else { break }
                j += 1
            }
            return (names, j)
        }
        while i < tokens.count {
            let token = tokens[i]
            switch token.kind == .name ? token.text : "" {
            case "local":
                if i + 1 < tokens.count, tokens[i + 1].text == "function" {
                    if i + 2 < tokens.count { out.insert(tokens[i + 2].text) }
                } else {
                    out.formUnion(namesList(from: i + 1).names)
                }
            case "function":
                if i + 1 < tokens.count, tokens[i + 1].kind == .name,
                   !(i + 2 < tokens.count && [".", ":"].contains(tokens[i + 2].text)) {
                    out.insert(tokens[i + 1].text)
                }
                // Parameters: the names in the first parenthesis after `function`.
                if let open = tokens[(i + 1)...].firstIndex(where: { $0.text == "(" }) {
                    out.formUnion(namesList(from: open + 1).names)
                }
            case "for":
                out.formUnion(namesList(from: i + 1).names)
            default:
                // An assignment target list: `a = …`, `a, b = …` (not `a == …`).
                if token.kind == .name, !Self.keywords.contains(token.text),
                   i == 0 || ![".", ":"].contains(tokens[i - 1].text) {
                    let (names, next) = namesList(from: i)
                    if next < tokens.count, tokens[next].text == "=", !isTableKey(at: i) {
                        out.formUnion(names)
                    }
                }
            }
            i += 1
        }
        return out
    }

    // MARK: - Tokens

    private static func tokenize(_ s: [Unicode.Scalar]) -> [Token] {
        var out: [Token] = []
        var i = 0, line = 1, lineStart = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || (c.isASCII && c.properties.isAlphabetic) }
        func isNameChar(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }
        func advance(to end: Int) {
            while i < min(end, s.count) {
                if s[i] == "\n" { line += 1; lineStart = i + 1 }
                i += 1
            }
        }
        /// The level of a long bracket `[[`, `[==[` at `j`, if one starts there.
        func longBracket(at j: Int) -> Int? {
            guard j < s.count, s[j] == "[" else { return nil }
            var k = j + 1, level = 0
            while k < s.count, s[k] == "=" { level += 1; k += 1 }
            return k < s.count && s[k] == "[" ? level : nil
        }
        func skipLong(from j: Int, level: Int) {
            let close = Array("]" + String(repeating: "=", count: level) + "]").flatMap(\.unicodeScalars)
            var k = j + level + 2
            while k < s.count {
                if s[k] == "]", k + close.count <= s.count, Array(s[k..<k + close.count]) == close {
                    advance(to: k + close.count)
                    return
                }
                k += 1
            }
            advance(to: s.count)
        }
        while i < s.count {
            let c = s[i]
            let column = i - lineStart + 1
            if c == " " || c == "\t" || c == "\r" || c == "\n" { advance(to: i + 1); continue }
            if c == "-", i + 1 < s.count, s[i + 1] == "-" {
                if let level = longBracket(at: i + 2) { skipLong(from: i + 2, level: level); continue }
                while i < s.count, s[i] != "\n" { i += 1 }
                continue
            }
            if let level = longBracket(at: i) {
                out.append(Token(kind: .literal, text: "[[", line: line, column: column))
                skipLong(from: i, level: level)
                continue
            }
            if c == "\"" || c == "'" {
                out.append(Token(kind: .literal, text: "\"", line: line, column: column))
                var k = i + 1
                while k < s.count, s[k] != c, s[k] != "\n" {
                    if s[k] == "\\" { k += 1 }
                    k += 1
                }
                advance(to: k + 1)
                continue
            }
            if isNameStart(c) {
                var k = i
                while k < s.count, isNameChar(s[k]) { k += 1 }
                out.append(Token(kind: .name, text: String(String.UnicodeScalarView(s[i..<k])), line: line, column: column))
                i = k
                continue
            }
            if ("0"..."9").contains(c) || (c == "." && i + 1 < s.count && ("0"..."9").contains(s[i + 1])) {
                var k = i
                while k < s.count, isNameChar(s[k]) || s[k] == "." ||
                        ((s[k] == "+" || s[k] == "-") && k > i && "eEpP".unicodeScalars.contains(s[k - 1])) { k += 1 }
                out.append(Token(kind: .literal, text: "0", line: line, column: column))
                i = k
                continue
            }
            // Symbols: the multi-character ones this view cares about, else one character.
            let rest = String(String.UnicodeScalarView(s[i..<min(i + 3, s.count)]))
            let symbol = ["...", "..", "==", "~=", "<=", ">=", "::", "//", "<<", ">>"].first { rest.hasPrefix($0) } ?? String(c)
            out.append(Token(kind: .symbol, text: symbol, line: line, column: column))
            i += symbol.unicodeScalars.count
        }
        return out
    }
}
