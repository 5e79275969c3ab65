/// A Lua expression written in a pipeline, with where it was written.
public struct Expression: Sendable, Hashable, CustomStringConvertible {
    public var source: String
    public var location: SourceLocation

    public init(_ source: String, at location: SourceLocation) {
        self.source = source
        self.location = location
    }

    public var description: String { source }

    /// `raw(x)` as the whole expression: substituted into `run:` without shell quoting.
    public var rawInner: Expression? {
        let trimmed = source.trimmingCharacters(in: " ")
        guard trimmed.hasPrefix("raw("), trimmed.hasSuffix(")") else { return nil }
        let inner = String(trimmed.dropFirst(4).dropLast())
        var depth = 0
        for ch in inner {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1; if depth < 0 { return nil } }
        }
        return depth == 0 ? Expression(inner, at: location) : nil
    }
}

/// A string with `${{ expression }}` parts.
///
/// ```
/// /srv/apps/sgos-${{ params.app }}   →  [.text("/srv/apps/sgos-"), .expression(params.app)]
/// ```
public struct Template: Sendable, Hashable {
    public enum Part: Sendable, Hashable {
        case text(String)
        case expression(Expression)
    }

    public var parts: [Part]
    public var location: SourceLocation

    public init(parts: [Part], location: SourceLocation) {
        self.parts = parts
        self.location = location
    }

    /// The literal text when the template has no expressions.
    public var literal: String? {
        var s = ""
        for part in parts {
            guard case .text(let t) = part else { return nil }
            s += t
        }
        return s
    }

    /// The expression when the template is exactly one `${{ }}` (surrounding blanks allowed):
    /// such a value keeps the Lua value's type.
    public var wholeExpression: Expression? {
        var found: Expression?
        for part in parts {
            switch part {
            case .expression(let e):
                if found != nil { return nil }
                found = e
            case .text(let t):
                if !t.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" }) { return nil }
            }
        }
        return found
    }

    /// The text as written, `${{ }}` included.
    public var source: String {
        parts.map { part in
            switch part {
            case .text(let s): s
            case .expression(let e): "${{ \(e.source) }}"
            }
        }.joined()
    }

    public var expressions: [Expression] {
        parts.compactMap { if case .expression(let e) = $0 { e } else { nil } }
    }

    /// Splits `text` into literal and `${{ }}` parts. `location` is where the string's text starts;
    /// expression locations are computed from it, each line starting at `location`'s column (as
    /// the lines of a block scalar do; in folded flow scalars later lines are approximate).
    public static func parse(_ text: String, at location: SourceLocation) throws(InvalidInput) -> Template {
        var parts: [Part] = []
        var literal = ""
        var line = location.line
        var column = location.column
        var i = text.startIndex
        while i < text.endIndex {
            if text[i...].hasPrefix("${{") {
                let exprStart = SourceLocation(file: location.file, line: line, column: column)
                let bodyStart = text.index(i, offsetBy: 3)
                guard let close = Self.closingBraces(in: text, from: bodyStart) else {
                    throw InvalidInput("unclosed '${{': expected '}}'", at: exprStart)
                }
                let body = String(text[bodyStart..<close.lowerBound]).trimmingCharacters(in: " ")
                guard !body.isEmpty else { throw InvalidInput("empty expression '${{ }}'", at: exprStart) }
                if !literal.isEmpty {
                    parts.append(.text(literal))
                    literal = ""
                }
                parts.append(.expression(Expression(body, at: exprStart)))
                for ch in text[i..<close.upperBound] {
                    if ch == "\n" { line += 1; column = location.column } else { column += 1 }
                }
                i = close.upperBound
            } else {
                let ch = text[i]
                literal.append(ch)
                if ch == "\n" { line += 1; column = location.column } else { column += 1 }
                i = text.index(after: i)
            }
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        return Template(parts: parts, location: location)
    }

    /// The `}}` that ends an expression, skipping Lua strings and balanced `{ }` (table
    /// constructors), so `${{ json.encode({a = {b = 1}}) }}` ends where it should.
    static func closingBraces(in text: String, from start: String.Index) -> Range<String.Index>? {
        var depth = 0
        var i = start
        while i < text.endIndex {
            let c = text[i]
            switch c {
            case "\"", "'":
                i = text.index(after: i)
                while i < text.endIndex, text[i] != c {
                    if text[i] == "\\" { i = text.index(after: i); if i == text.endIndex { return nil } }
                    i = text.index(after: i)
                }
            case "[" where text[i...].hasPrefix("[[") || text[i...].hasPrefix("[="):
                var level = 0
                var j = text.index(after: i)
                while j < text.endIndex, text[j] == "=" { level += 1; j = text.index(after: j) }
                guard j < text.endIndex, text[j] == "[" else { break }
                let closing = "]" + String(repeating: "=", count: level) + "]"
                guard let end = text[j...].range(of: closing) else { return nil }
                i = text.index(before: end.upperBound)
            case "{": depth += 1
            case "}":
                if depth == 0 {
                    let next = text.index(after: i)
                    if next < text.endIndex, text[next] == "}" { return i..<text.index(after: next) }
                } else {
                    depth -= 1
                }
            default: break
            }
            if i < text.endIndex { i = text.index(after: i) }
        }
        return nil
    }
}

import Foundation
