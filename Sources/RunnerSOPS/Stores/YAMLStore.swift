import RunnerCore

/// sops' YAML store: documents composed by RunnerCore's libyaml composer (aliases expanded,
/// duplicate keys rejected), scalars typed as yaml.v3 types them, comments recovered from the
/// source and placed where yaml.v3 puts them in sops' tree, output through a yaml.v3-compatible
/// emitter (indent 4).
///
/// Differences from sops: merge keys (`<<: *base`) are applied (sops keeps a literal `<<` key);
/// comment placement follows indentation, which matches yaml.v3 for ordinary files.
enum YAMLStore {
    static func load(_ bytes: [UInt8]) throws(SOPSError) -> SOPSBranches {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SOPSError.invalidFile("YAML: the file is not UTF-8 text")
        }
        // Split on scalars: "\r\n" is a single Character and would not split as one.
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        if let first = lines.first, first.first == "\u{FEFF}" { lines[0].removeFirst() }
        var branches: SOPSBranches = []
        for document in documents(lines) {
            let source = String(document.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n"))
            let root: YAMLNode?
            do {
                root = try YAMLParser.parse(Array(source.utf8), file: "YAML")
            } catch {
                throw SOPSError.invalidFile(sanitized(error))
            }
            guard let root else { continue }
            switch root.kind {
            case .mapping:
                let comments = YAMLCommentScanner(lines: document).comments(of: root)
                var builder = YAMLTreeBuilder(comments: comments)
                branches.append(try builder.build(root))
            case .sequence:
                throw SOPSError.invalidFile("YAML documents that are sequences are not supported")
            case .scalar(let scalar):
                if scalar.style == .plain, scalar.tag == nil, GoYAMLResolve.resolvePlain(scalar.text) == .null {
                    branches.append([])
                } else {
                    throw SOPSError.invalidFile("YAML documents that are values are not supported")
                }
            }
        }
        return branches
    }

    /// libyaml messages, minus any that quote a scalar's text (which could be a secret).
    private static func sanitized(_ error: InvalidInput) -> String {
        let parts = error.diagnostics.map { diagnostic -> String in
            let message = diagnostic.message.contains("is not a valid") ? "a scalar does not match its tag" : diagnostic.message
            guard let location = diagnostic.location else { return "YAML: " + message }
            return "YAML line \(location.line), column \(location.column): \(message)"
        }
        return parts.joined(separator: "; ")
    }

    /// Splits the source into documents at `---` and `...` lines, keeping line numbers: each
    /// document is the whole file with the other documents' lines blanked. Directives are dropped.
    private static func documents(_ lines: [[Unicode.Scalar]]) -> [[[Unicode.Scalar]]] {
        func isMarker(_ line: [Unicode.Scalar], _ marker: String) -> Bool {
            let m = Array(marker.unicodeScalars)
            guard line.count >= 3, Array(line[0..<3]) == m else { return false }
            return line.count == 3 || line[3] == " " || line[3] == "\t" || line[3] == "\r"
        }
        var ranges: [(start: Int, end: Int, firstLine: [Unicode.Scalar]?)] = []
        var start = 0
        var firstLine: [Unicode.Scalar]?
        var hasContent = false
        for (index, line) in lines.enumerated() {
            if isMarker(line, "---") {
                if hasContent || index > start { ranges.append((start, index, firstLine)) }
                start = index
                // Content after `---` on the same line stays, with the marker blanked.
                firstLine = [" ", " ", " "] + line.dropFirst(3)
                hasContent = false
            } else if isMarker(line, "...") {
                ranges.append((start, index, firstLine))
                start = index + 1
                firstLine = nil
                hasContent = false
            } else if line.first != "%" && line.contains(where: { $0 != " " && $0 != "\t" && $0 != "\r" }) {
                hasContent = true
            }
        }
        ranges.append((start, lines.count, firstLine))
        return ranges.map { range in
            lines.enumerated().map { index, line -> [Unicode.Scalar] in
                guard index >= range.start, index < range.end else { return [] }
                if index == range.start, let first = range.firstLine { return first }
                return line.first == "%" ? [] : line
            }
        }
    }

    static func emit(_ branches: SOPSBranches, indent: Int = 4) -> String {
        var emitter = GoYAMLEmitter(indent: indent)
        return emitter.emit(branches)
    }
}

/// Turns a composed YAML mapping into sops tree items, inserting the recovered comments.
private struct YAMLTreeBuilder {
    /// A block collection, for placing comments by indentation.
    private struct Container {
        var indent: Int
        var depth: Int
        var parent: Int?
    }

    /// A mapping key or sequence item where it starts (0-based).
    private struct Entry {
        var line: Int
        var column: Int
        var container: Int
        var item: Int
        var scalarValue: Bool
    }

    private let comments: [YAMLSourceComment]
    private var containers: [Container] = []
    private var entries: [Entry] = []
    private var seen: Set<[Int]> = []
    /// container → item index → comments to insert before that item (item count = at the end).
    private var insertions: [Int: [Int: [SOPSComment]]] = [:]
    private var nextID = 0

    init(comments: [YAMLSourceComment]) { self.comments = comments }

    mutating func build(_ root: YAMLNode) throws(SOPSError) -> [SOPSItem] {
        register(root, parent: nil, depth: 0)
        place()
        nextID = 0
        guard case .map(let items) = try convert(root) else { return [] }
        return items
    }

    // MARK: Registration

    /// Assigns ids in the same order `convert` will, and records entry positions.
    private mutating func register(_ node: YAMLNode, parent: Int?, depth: Int) {
        switch node.kind {
        case .scalar: return
        case .mapping(let pairs):
            let id = newContainer(node, indent: pairs.first.map { $0.key.location.column - 1 } ?? node.location.column - 1, parent: parent, depth: depth)
            for (index, pair) in pairs.enumerated() {
                addEntry(line: pair.key.location.line - 1, column: pair.key.location.column - 1, container: id, item: index, scalarValue: pair.value.scalar != nil)
                register(pair.value, parent: id, depth: depth + 1)
            }
        case .sequence(let items):
            let id = newContainer(node, indent: node.location.column - 1, parent: parent, depth: depth)
            for (index, item) in items.enumerated() {
                addEntry(line: item.location.line - 1, column: item.location.column - 1, container: id, item: index, scalarValue: item.scalar != nil)
                register(item, parent: id, depth: depth + 1)
            }
        }
    }

    private mutating func newContainer(_ node: YAMLNode, indent: Int, parent: Int?, depth: Int) -> Int {
        let id = nextID
        nextID += 1
        containers.append(Container(indent: indent, depth: depth, parent: parent))
        return id
    }

    private mutating func addEntry(line: Int, column: Int, container: Int, item: Int, scalarValue: Bool) {
        // Copies made by aliases and merge keys carry their source's positions: the first
        // (the original, which precedes every alias) is the one that places comments.
        guard seen.insert([line, column]).inserted else { return }
        entries.append(Entry(line: line, column: column, container: container, item: item, scalarValue: scalarValue))
    }

    // MARK: Placement

    private func ancestors(_ id: Int) -> [Int] {
        var chain: [Int] = []
        var current: Int? = id
        while let c = current {
            chain.append(c)
            current = containers[c].parent
        }
        return chain
    }

    private mutating func place() {
        let ordered = entries.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
        for comment in comments {
            let sopsComment = SOPSComment(text: comment.text)
            if comment.trailing, let owner = ordered.last(where: { $0.line == comment.line && $0.column < comment.column }) {
                // `key: value # c` is an inline comment of the value, kept before its item.
                var inline = sopsComment
                inline.inline = owner.scalarValue
                insertions[owner.container, default: [:]][owner.item, default: []].append(inline)
                continue
            }
            let previous = ordered.last { $0.line < comment.line || ($0.line == comment.line && $0.column < comment.column) }
            let next = ordered.first { $0.line > comment.line }
            var candidates: [Int] = []
            for entry in [previous, next].compactMap({ $0 }) {
                for id in ancestors(entry.container) where !candidates.contains(id) { candidates.append(id) }
            }
            if candidates.isEmpty { candidates = [0] }
            let fitting = candidates.filter { containers[$0].indent <= comment.column }
            let chosen =
                fitting.max { (containers[$0].indent, containers[$0].depth) < (containers[$1].indent, containers[$1].depth) }
                ?? candidates.min { containers[$0].depth < containers[$1].depth } ?? 0
            // Before the chosen container's first item that starts after the comment.
            let position = ordered.first { $0.container == chosen && $0.line > comment.line }?.item ?? Int.max
            insertions[chosen, default: [:]][position, default: []].append(sopsComment)
        }
    }

    // MARK: Conversion

    private mutating func convert(_ node: YAMLNode) throws(SOPSError) -> SOPSValue {
        switch node.kind {
        case .scalar(let scalar):
            return try GoYAMLResolve.value(text: scalar.text, plain: scalar.style == .plain, tag: scalar.tag)
        case .mapping(let pairs):
            let id = nextID
            nextID += 1
            let pending = insertions[id] ?? [:]
            var items: [SOPSItem] = []
            for (index, pair) in pairs.enumerated() {
                for comment in pending[index] ?? [] { items.append(.comment(comment)) }
                guard let keyScalar = pair.key.scalar else { throw SOPSError.invalidFile("YAML: mapping keys must be scalars") }
                let key = try GoYAMLResolve.value(text: keyScalar.text, plain: keyScalar.style == .plain, tag: keyScalar.tag)
                guard case .string(let keyText) = key else {
                    throw SOPSError.invalidFile(
                        "YAML line \(pair.key.location.line): a mapping key is not a string (sops only supports string keys; quote it)")
                }
                items.append(.pair(keyText, try convert(pair.value)))
            }
            for (position, comments) in pending where position >= pairs.count {
                _ = position
                for comment in comments { items.append(.comment(comment)) }
            }
            return .map(items)
        case .sequence(let elements):
            let id = nextID
            nextID += 1
            let pending = insertions[id] ?? [:]
            var items: [SOPSValue] = []
            for (index, element) in elements.enumerated() {
                for comment in pending[index] ?? [] { items.append(.comment(comment)) }
                items.append(try convert(element))
            }
            for (position, comments) in pending where position >= elements.count {
                _ = position
                for comment in comments { items.append(.comment(comment)) }
            }
            return .list(items)
        }
    }
}
