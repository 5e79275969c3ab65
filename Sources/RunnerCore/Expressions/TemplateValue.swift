/// A value from YAML whose strings may contain `${{ }}`: plugin parameters, vars, env.
public indirect enum TemplateValue: Sendable, Hashable {
    case literal(Value, SourceLocation)
    case template(Template)
    case list([TemplateValue], SourceLocation)
    case map([String: TemplateValue], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .literal(_, let l), .list(_, let l), .map(_, let l): l
        case .template(let t): t.location
        }
    }

    /// The value when it holds no expression anywhere.
    public var literalValue: Value? {
        switch self {
        case .literal(let v, _): return v
        case .template(let t): return t.literal.map(Value.string)
        case .list(let items, _):
            var out: [Value] = []
            for item in items {
                guard let v = item.literalValue else { return nil }
                out.append(v)
            }
            return .list(out)
        case .map(let entries, _):
            var out: [String: Value] = [:]
            for (k, item) in entries {
                guard let v = item.literalValue else { return nil }
                out[k] = v
            }
            return .map(out)
        }
    }

    /// Every expression inside, in no particular order.
    public var expressions: [Expression] {
        switch self {
        case .literal: []
        case .template(let t): t.expressions
        case .list(let items, _): items.flatMap(\.expressions)
        case .map(let entries, _): entries.values.flatMap(\.expressions)
        }
    }

    /// Builds the tree from a YAML node, parsing `${{ }}` in every string scalar.
    public static func from(_ node: YAMLNode) throws(InvalidInput) -> TemplateValue {
        switch node.kind {
        case .scalar(let scalar):
            let value = node.value
            guard case .string(let text) = value, text.contains("${{") else { return .literal(value, node.location) }
            _ = scalar
            return .template(try Template.parse(text, at: node.contentStart))
        case .sequence(let items):
            var out: [TemplateValue] = []
            var problems: [Diagnostic] = []
            for item in items {
                do throws(InvalidInput) { out.append(try from(item)) } catch { problems += error.diagnostics }
            }
            if !problems.isEmpty { throw InvalidInput(problems) }
            return .list(out, node.location)
        case .mapping(let pairs):
            var out: [String: TemplateValue] = [:]
            var problems: [Diagnostic] = []
            for pair in pairs {
                let key = pair.key.scalar?.text ?? ""
                do throws(InvalidInput) { out[key] = try from(pair.value) } catch { problems += error.diagnostics }
            }
            if !problems.isEmpty { throw InvalidInput(problems) }
            return .map(out, node.location)
        }
    }
}
