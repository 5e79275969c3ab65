import RunnerCore

/// A `#` comment found in YAML source, 0-based line and column (in characters).
struct YAMLSourceComment: Equatable {
    var line: Int
    var column: Int
    /// The text after `#`.
    var text: String
    /// Something other than whitespace precedes it on its line.
    var trailing: Bool
}

/// Finds the comments of a YAML document. libyaml's parser (under RunnerCore's composer) drops
/// comments, so they are recovered from the source: every `#` at the start of a line or after
/// whitespace, outside quoted scalars and block scalar bodies (whose extent is derived from
/// the composed nodes' positions).
struct YAMLCommentScanner {
    /// The source as lines of Unicode scalars (columns count characters, like libyaml marks).
    let lines: [[Unicode.Scalar]]

    init(lines: [[Unicode.Scalar]]) { self.lines = lines }

    /// Positions inside scalars: whole lines (block scalar bodies) and spans (quoted scalars).
    private struct Mask {
        var lines: Set<Int> = []
        /// line → column ranges
        var spans: [Int: [Range<Int>]] = [:]

        mutating func add(line: Int, columns: Range<Int>) { spans[line, default: []].append(columns) }

        func contains(line: Int, column: Int) -> Bool {
            lines.contains(line) || (spans[line]?.contains { $0.contains(column) } ?? false)
        }
    }

    func comments(of root: YAMLNode) -> [YAMLSourceComment] {
        var mask = Mask()
        collect(root, parentIndent: -1, into: &mask)
        var result: [YAMLSourceComment] = []
        for (number, line) in lines.enumerated() where !mask.lines.contains(number) {
            var previousIsSpace = true
            for (column, scalar) in line.enumerated() {
                defer { previousIsSpace = scalar == " " || scalar == "\t" }
                guard scalar == "#", previousIsSpace, !mask.contains(line: number, column: column) else { continue }
                var text = String(String.UnicodeScalarView(line[(column + 1)...]))
                if text.hasSuffix("\r") { text.removeLast() }
                let trailing = line[..<column].contains { $0 != " " && $0 != "\t" }
                result.append(YAMLSourceComment(line: number, column: column, text: text, trailing: trailing))
                break
            }
        }
        return result
    }

    /// Marks the source covered by the scalars under `node`.
    private func collect(_ node: YAMLNode, parentIndent: Int, into mask: inout Mask) {
        switch node.kind {
        case .scalar(let scalar):
            switch scalar.style {
            case .singleQuoted, .doubleQuoted: maskQuoted(at: node.location, double: scalar.style == .doubleQuoted, into: &mask)
            case .literal, .folded: maskBlock(at: node.location, parentIndent: parentIndent, into: &mask)
            case .plain: break
            }
        case .sequence(let items):
            let indent = node.location.column - 1
            for item in items { collect(item, parentIndent: indent, into: &mask) }
        case .mapping(let pairs):
            for pair in pairs {
                collect(pair.key, parentIndent: parentIndent, into: &mask)
                collect(pair.value, parentIndent: pair.key.location.column - 1, into: &mask)
            }
        }
    }

    /// From the node's start (maybe an anchor or tag first) to the closing quote.
    private func maskQuoted(at location: RunnerCore.SourceLocation, double: Bool, into mask: inout Mask) {
        let quote: Unicode.Scalar = double ? "\"" : "'"
        var line = location.line - 1
        var column = max(location.column - 1, 0)
        // Find the opening quote on the start line.
        guard line >= 0, line < lines.count else { return }
        while column < lines[line].count, lines[line][column] != quote { column += 1 }
        guard column < lines[line].count else { return }
        var start = column
        column += 1
        while line < lines.count {
            let text = lines[line]
            while column < text.count {
                let c = text[column]
                if double && c == "\\" {
                    column += 2
                    continue
                }
                if c == quote {
                    if !double, column + 1 < text.count, text[column + 1] == "'" {
                        column += 2
                        continue
                    }
                    mask.add(line: line, columns: start..<(column + 1))
                    return
                }
                column += 1
            }
            mask.add(line: line, columns: start..<max(start, text.count))
            line += 1
            column = 0
            start = 0
        }
    }

    /// The lines of a `|` or `>` scalar's body: after the header line, every line that is blank
    /// or indented at least as much as the first non-blank one (which must be deeper than the parent).
    private func maskBlock(at location: RunnerCore.SourceLocation, parentIndent: Int, into mask: inout Mask) {
        let header = location.line - 1
        guard header >= 0, header < lines.count else { return }
        // An explicit indentation indicator (`|2`) fixes the body's indentation.
        var explicit: Int?
        let headerText = lines[header]
        let start = min(max(location.column - 1, 0), headerText.count)
        if let bar = headerText[start...].firstIndex(where: { $0 == "|" || $0 == ">" }) {
            for c in headerText[(bar + 1)...] {
                if let digit = Int(String(c)), digit > 0 {
                    explicit = digit
                    break
                }
                if c != "+" && c != "-" { break }
            }
        }
        var contentIndent: Int? = explicit.map { max(parentIndent, 0) + $0 }
        var line = header + 1
        while line < lines.count {
            let text = lines[line]
            let indent = text.prefix { $0 == " " }.count
            let blank = text.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" }
            if blank {
                mask.lines.insert(line)
                line += 1
                continue
            }
            if contentIndent == nil {
                guard indent > parentIndent else { break }
                contentIndent = indent
            }
            guard let contentIndent, indent >= contentIndent else { break }
            mask.lines.insert(line)
            line += 1
        }
        // Trailing blank lines belong to the document, not necessarily the scalar; unmasking
        // them changes nothing since blank lines hold no comments.
    }
}
