/// A step's `with:` as written, for naming the step before it runs (expressions are not
/// evaluated: a label must not depend on, or reveal, values only known at run time).
///
/// ```swift
/// func label(_ with: StepLabel) -> String {
///     with.words("ssh", "upload", with.file("upload"))   // "ssh upload app.json"
/// }
/// ```
public struct StepLabel: Sendable {
    let values: [String: TemplateValue]

    public init(_ values: [String: TemplateValue]) {
        self.values = values
    }

    /// The parameter's literal text; nil when it is absent, not a string or number, or holds an expression.
    public func text(_ key: String) -> String? {
        switch values[key]?.literalValue {
        case .string(let text)?: text
        case .int(let number)?: String(number)
        case .bool(let flag)?: String(flag)
        default: nil
        }
    }

    /// Whether the parameter is given (and not `false` or null).
    public func has(_ key: String) -> Bool {
        guard let value = values[key] else { return false }
        guard let literal = value.literalValue else { return true }
        return !literal.isNull && literal != .bool(false)
    }

    /// The last path component of the parameter as written, when it is plain text there:
    /// `app.json` for `${{ vars.dir }}/src/app.json`, nil for `${{ vars.flag }}`.
    public func file(_ key: String) -> String? {
        let source: String
        switch values[key] {
        case .literal(.string(let text), _)?: source = text
        case .template(let template)?: source = template.source
        default: return nil
        }
        guard let last = source.split(separator: "/").last.map(String.init),
              !last.contains("${{"), !last.contains("}}"), !last.isEmpty else { return nil }
        return last
    }

    /// The non-nil words joined by spaces.
    public func words(_ words: String?...) -> String {
        words.compactMap { $0 }.joined(separator: " ")
    }
}

extension PluginRegistry {
    /// What people see for a step: its `name:`, else its `id:`, else for a plugin step the
    /// plugin's label of its action (`docker compose up`, `nginx maintenance on`), else a short
    /// form of its body. Used for the console, the summary and the run store alike.
    public func displayName(of step: Step) -> String {
        guard step.name == nil, step.id == nil, case .uses(let name, let with, _) = step.body, let plugin = self[name] else {
            return step.displayName
        }
        let label = plugin.label(StepLabel(with))
        return label.isEmpty ? name : label
    }
}
