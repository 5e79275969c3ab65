/// sops' tree → yaml.v3 nodes → emitter events (sops' `appendTreeBranch`/`appendSequence` and
/// yaml.v3's `encoder.node`/`stringv`).
extension GoYAMLEmitter {
    // MARK: Tree → events (sops' appendTreeBranch/appendSequence + yaml.v3 encoder.node)

    static func joinComments(_ comments: [String]) -> [Unicode.Scalar] {
        Array(("#" + comments.joined(separator: "\n#")).unicodeScalars)
    }

    /// A node as sops builds it before yaml.v3 encodes it.
    indirect enum Node {
        case scalar(Event)
        case mapping([(key: Node, value: Node)], head: [Unicode.Scalar], line: [Unicode.Scalar], foot: [Unicode.Scalar])
        case sequence([Node], head: [Unicode.Scalar], line: [Unicode.Scalar], foot: [Unicode.Scalar])

        var comments: (head: [Unicode.Scalar], line: [Unicode.Scalar], foot: [Unicode.Scalar]) {
            get {
                switch self {
                case .scalar(let e): (e.head, e.line, e.foot)
                case .mapping(_, let h, let l, let f), .sequence(_, let h, let l, let f): (h, l, f)
                }
            }
            set {
                switch self {
                case .scalar(var e):
                    (e.head, e.line, e.foot) = newValue
                    self = .scalar(e)
                case .mapping(let pairs, _, _, _): self = .mapping(pairs, head: newValue.head, line: newValue.line, foot: newValue.foot)
                case .sequence(let items, _, _, _): self = .sequence(items, head: newValue.head, line: newValue.line, foot: newValue.foot)
                }
            }
        }
    }

    static func addHead(_ node: inout Node, _ comments: inout [String]) {
        guard !comments.isEmpty else { return }
        let joined = joinComments(comments)
        var c = node.comments
        c.head = c.head.isEmpty ? joined : joined + ["\n"] + c.head
        node.comments = c
        comments = []
    }

    static func addFoot(_ node: inout Node, _ comments: [String]) {
        guard !comments.isEmpty else { return }
        let joined = joinComments(comments)
        var c = node.comments
        c.foot = c.foot.isEmpty ? joined : c.foot + ["\n"] + joined
        node.comments = c
    }

    static func addLine(_ node: inout Node, _ comments: inout [String]) {
        guard !comments.isEmpty else { return }
        let joined = joinComments(comments)
        var c = node.comments
        c.line = c.line.isEmpty ? joined : c.line + ["\n"] + joined
        node.comments = c
        comments = []
    }

    static func mappingNode(_ items: [SOPSItem]) -> Node {
        var pairs: [(key: Node, value: Node)] = []
        var mapping = Node.mapping([], head: [], line: [], foot: [])
        var heads: [String] = []
        var inlines: [String] = []
        var beginning = true
        for item in items {
            switch item {
            case .comment(let comment):
                if comment.inline { inlines.append(comment.text) } else { heads.append(comment.text) }
            case .pair(let key, let value):
                if beginning {
                    addHead(&mapping, &heads)
                    beginning = false
                }
                var keyNode = scalarNode(.string(key))
                addHead(&keyNode, &heads)
                var valueNode = node(value)
                addLine(&valueNode, &inlines)
                pairs.append((keyNode, valueNode))
            }
        }
        heads += inlines
        if !heads.isEmpty {
            if beginning || pairs.isEmpty {
                addHead(&mapping, &heads)
            } else {
                addFoot(&pairs[pairs.count - 1].key, heads)
            }
        }
        let c = mapping.comments
        return .mapping(pairs, head: c.head, line: c.line, foot: c.foot)
    }

    static func sequenceNode(_ items: [SOPSValue]) -> Node {
        var nodes: [Node] = []
        var sequence = Node.sequence([], head: [], line: [], foot: [])
        var heads: [String] = []
        var inlines: [String] = []
        var beginning = true
        for item in items {
            if case .comment(let comment) = item {
                if comment.inline { inlines.append(comment.text) } else { heads.append(comment.text) }
                continue
            }
            if beginning {
                addHead(&sequence, &heads)
                beginning = false
            }
            var itemNode = node(item)
            addHead(&itemNode, &heads)
            addLine(&itemNode, &inlines)
            nodes.append(itemNode)
        }
        heads += inlines
        if !heads.isEmpty {
            if beginning || nodes.isEmpty {
                addHead(&sequence, &heads)
            } else {
                addFoot(&nodes[nodes.count - 1], heads)
            }
        }
        let c = sequence.comments
        return .sequence(nodes, head: c.head, line: c.line, foot: c.foot)
    }

    static func node(_ value: SOPSValue) -> Node {
        switch value {
        case .map(let items): mappingNode(items)
        case .list(let items): sequenceNode(items)
        default: scalarNode(value)
        }
    }

    /// yaml.v3 `Node.Encode(value)`: the scalar text and the style `stringv` picks (plain unless
    /// the plain text would resolve to another type; literal when it has a newline).
    static func scalarNode(_ value: SOPSValue) -> Node {
        var event = Event(type: .scalar)
        switch value {
        case .string(let s), .time(let s):
            event.value = Array(s.unicodeScalars)
            if case .time = value {
                event.style = .plain
            } else if s.unicodeScalars.contains("\n") {
                event.style = .literal
            } else {
                let canUsePlain = GoYAMLResolve.resolvesToString(s) && !isBase60Float(s) && !isOldBool(s)
                event.style = canUsePlain ? .plain : .doubleQuoted
            }
        case .rawString(let bytes), .bytes(let bytes):
            if let s = String(validating: bytes, as: UTF8.self) { return scalarNode(.string(s)) }
            event.value = Array(encodeBase64Lines(bytes).unicodeScalars)
            event.binaryTag = true
            event.implicit = false
            event.style = event.value.contains("\n") ? .literal : .plain
        case .int(let i): event.value = Array(String(i).unicodeScalars)
        case .float(let d): event.value = Array(GoFloat.yaml(d).unicodeScalars)
        case .bool(let b): event.value = Array((b ? "true" : "false").unicodeScalars)
        case .null: event.value = Array("null".unicodeScalars)
        case .comment(let c): event.value = Array(c.text.unicodeScalars)
        case .map, .list: break
        }
        return .scalar(event)
    }

    /// yaml.v3's `encodeBase64`: 70-column lines when longer than one line.
    static func encodeBase64Lines(_ bytes: [UInt8]) -> String {
        let text = Array(Base64.encode(bytes))
        guard text.count > 70 else { return String(text) }
        var lines: [String] = []
        var index = 0
        while index < text.count {
            lines.append(String(text[index..<min(index + 70, text.count)]))
            index += 70
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// yaml.v3 quotes these even though YAML 1.2 reads them as strings.
    static func isOldBool(_ s: String) -> Bool {
        switch s {
        case "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF": true
        default: false
        }
    }

    /// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
    static func isBase60Float(_ s: String) -> Bool {
        var rest = Array(s.utf8)[...]
        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
        if let c = rest.first, c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { rest = rest.dropFirst() }
        guard let first = rest.first, isDigit(first) else { return false }
        rest = rest.dropFirst()
        rest = rest.drop { isDigit($0) || $0 == UInt8(ascii: "_") }
        var groups = 0
        while rest.first == UInt8(ascii: ":") {
            rest = rest.dropFirst()
            let digits = rest.prefix(while: isDigit)
            guard digits.count == 1 || (digits.count == 2 && digits.first.map { $0 <= UInt8(ascii: "5") } == true) else { return false }
            rest = rest.dropFirst(digits.count)
            groups += 1
        }
        guard groups > 0 else { return false }
        if rest.first == UInt8(ascii: ".") {
            rest = rest.dropFirst()
            rest = rest.drop { isDigit($0) || $0 == UInt8(ascii: "_") }
        }
        return rest.isEmpty
    }

    /// encoder.node for a document's top-level mapping (the document node has no comments).
    mutating func appendMapping(_ items: [SOPSItem], tail: [Unicode.Scalar]) {
        appendNode(Self.mappingNode(items), tail: tail)
    }

    mutating func appendNode(_ node: Node, tail: [Unicode.Scalar]) {
        switch node {
        case .scalar(var event):
            event.tail = tail
            events.append(event)
        case .mapping(let pairs, let head, let line, let foot):
            events.append(Event(type: .mappingStart, head: head, tail: tail))
            // The foot comment of a key moves to the following key (or the mapping end).
            var pendingTail: [Unicode.Scalar] = []
            for pair in pairs {
                var key = pair.key
                let keyFoot = key.comments.foot
                if !keyFoot.isEmpty {
                    var c = key.comments
                    c.foot = []
                    key.comments = c
                }
                appendNode(key, tail: pendingTail)
                pendingTail = keyFoot
                appendNode(pair.value, tail: [])
            }
            events.append(Event(type: .mappingEnd, line: line, foot: foot, tail: pendingTail))
        case .sequence(let items, let head, let line, let foot):
            events.append(Event(type: .sequenceStart, head: head))
            for item in items { appendNode(item, tail: []) }
            events.append(Event(type: .sequenceEnd, line: line, foot: foot))
        }
    }
}
