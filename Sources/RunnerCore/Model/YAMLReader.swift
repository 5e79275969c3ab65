/// Reads YAML nodes into model values, collecting every problem instead of stopping at the first.
struct YAMLReader {
    var diagnostics: [Diagnostic] = []

    mutating func error(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(message, at: location))
    }

    /// The pairs of a mapping whose keys are checked against `known`; unknown keys are reported
    /// with a suggestion.
    mutating func mapping(_ node: YAMLNode, what: String, known: [String]) -> [(key: String, node: YAMLNode, keyLocation: SourceLocation)]? {
        guard let pairs = node.mapping else {
            error("\(what) must be a map, not \(kindName(node))", at: node.location)
            return nil
        }
        var out: [(String, YAMLNode, SourceLocation)] = []
        for pair in pairs {
            let key = pair.key.scalar?.text ?? ""
            if !known.isEmpty && !known.contains(key) {
                error("unknown key '\(key)' in \(what)\(Suggestion.hint(for: key, in: known))", at: pair.key.location)
                continue
            }
            out.append((key, pair.value, pair.key.location))
        }
        return out
    }

    mutating func string(_ node: YAMLNode, what: String) -> String? {
        guard node.scalar != nil, case .string(let s) = node.value else {
            if node.scalar != nil, !node.value.isNull, node.value.listValue == nil, node.value.mapValue == nil {
                return node.value.interpolated
            }
            error("\(what) must be a string, not \(kindName(node))", at: node.location)
            return nil
        }
        return s
    }

    mutating func bool(_ node: YAMLNode, what: String) -> Bool? {
        guard case .bool(let b) = node.value else {
            error("\(what) must be true or false, not \(kindName(node))", at: node.location)
            return nil
        }
        return b
    }

    mutating func int(_ node: YAMLNode, what: String, range: ClosedRange<Int>) -> Int? {
        guard case .int(let i) = node.value else {
            error("\(what) must be a whole number, not \(kindName(node))", at: node.location)
            return nil
        }
        guard range.contains(i) else {
            error("\(what) must be between \(range.lowerBound) and \(range.upperBound), not \(i)", at: node.location)
            return nil
        }
        return i
    }

    /// A duration up to a year; `positive` refuses zero (a timeout of 0 would fire at once).
    mutating func duration(_ node: YAMLNode, what: String, positive: Bool = false) -> Duration? {
        let text = node.scalar?.text ?? ""
        guard node.scalar != nil, let d = DurationParser.parse(text) else {
            error("\(what) must be a duration like 30s, 5m or 1h30m (at most a year), not '\(node.scalar?.text ?? kindName(node))'", at: node.location)
            return nil
        }
        if positive && d == .zero {
            error("\(what) must be more than zero", at: node.location)
            return nil
        }
        return d
    }

    mutating func template(_ node: YAMLNode, what: String) -> Template? {
        guard let text = string(node, what: what) else { return nil }
        do throws(InvalidInput) {
            return try Template.parse(text, at: node.contentStart)
        } catch {
            diagnostics += error.diagnostics
            return nil
        }
    }

    mutating func templateValue(_ node: YAMLNode) -> TemplateValue? {
        do throws(InvalidInput) {
            return try TemplateValue.from(node)
        } catch {
            diagnostics += error.diagnostics
            return nil
        }
    }

    func kindName(_ node: YAMLNode) -> String {
        switch node.kind {
        case .mapping: "a map"
        case .sequence: "a list"
        case .scalar: node.value.isNull ? "empty" : "\(node.value.typeName) '\(node.scalar?.text ?? "")'"
        }
    }
}
