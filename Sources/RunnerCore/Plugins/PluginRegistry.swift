/// Every plugin a run can use, by name.
public struct PluginRegistry: Sendable {
    public private(set) var plugins: [String: any StepPlugin] = [:]

    public init(_ plugins: [any StepPlugin] = []) throws(InvalidInput) {
        for plugin in plugins { try register(plugin) }
    }

    /// Adds a plugin; a second plugin with the same name is an error naming both definitions.
    public mutating func register(_ plugin: any StepPlugin) throws(InvalidInput) {
        if let existing = plugins[plugin.name] {
            let a = existing.source ?? "built-in"
            let b = plugin.source ?? "built-in"
            throw InvalidInput("plugin '\(plugin.name)' is defined twice: \(a) and \(b)")
        }
        plugins[plugin.name] = plugin
    }

    public subscript(name: String) -> (any StepPlugin)? { plugins[name] }

    public var names: [String] { plugins.keys.sorted() }

    /// The directories Lua plugins were looked for in (existing or not), for `unknown(_:)`.
    public var searched: [String] = []

    /// The error for a plugin name nothing defines: a close name if there is one, and where a
    /// Lua plugin `<name>.lua` was looked for, since a missing plugins/ is the usual cause.
    public func unknown(_ name: String) -> String {
        let places = searched.isEmpty ? "" : " (looked in \(searched.joined(separator: ", ")))"
        return "unknown plugin '\(name)'\(Suggestion.hint(for: name, in: names)): it is not built in, and no \(name).lua was found"
            + "\(places); Lua plugins are read from plugins/ beside the pipeline, plugins/ in its parent directory, "
            + "and each directory of RUNNER_PLUGIN_PATH (colon-separated)"
    }

    /// Checks `with:` against the schema. Values that hold expressions are checked when they are resolved.
    public func validate(
        _ with: [String: TemplateValue], for plugin: any StepPlugin, at location: SourceLocation, keyLocations: [String: SourceLocation]
    ) -> [Diagnostic] {
        var problems: [Diagnostic] = []
        let known = Set(plugin.parameters.map(\.name))
        for key in with.keys.sorted() where !known.contains(key) {
            problems.append(Diagnostic(
                "plugin '\(plugin.name)' has no parameter '\(key)'\(Suggestion.hint(for: key, in: known))",
                at: keyLocations[key] ?? location))
        }
        for spec in plugin.parameters {
            guard let given = with[spec.name] else {
                if spec.required && spec.defaultValue == nil {
                    problems.append(Diagnostic("plugin '\(plugin.name)' needs parameter '\(spec.name)'", at: location))
                }
                continue
            }
            if spec.shellString, case .template(let template) = given, let expression = template.expressions.first {
                problems.append(Diagnostic(Self.shellStringRefusal(spec.name, plugin: plugin.name, expression), at: expression.location))
            }
            if spec.shellString, case .list(let items, _) = given {
                problems += Self.argvRefusals(items, spec.name, plugin: plugin.name)
            }
            if let literal = given.literalValue, spec.type.coerce(literal) == nil {
                problems.append(Diagnostic(
                    "parameter '\(spec.name)' of plugin '\(plugin.name)' must be \(spec.type), not \(literal.typeName)",
                    at: given.location))
            }
        }
        for group in plugin.alternatives {
            let given = group.filter { with[$0] != nil }
            if let problem = Self.alternativesProblem(group, given: given, plugin: plugin.name) {
                problems.append(Diagnostic(problem, at: given.count > 1 ? keyLocations[given[1]] ?? location : location))
            }
        }
        return problems
    }

    /// A `${{ }}` in a string a shell runs would be code there; the list form keeps it one argument.
    static func shellStringRefusal(_ name: String, plugin: String, _ expression: Expression) -> String {
        let e = "${{ \(expression.source) }}"
        return "\(e) in the string form of '\(name)' (plugin '\(plugin)') would be read as code by the shell that runs it. "
            + "Safe form: the list form, which runs without a shell: \(name): [program, arg, \"\(e)\"], "
            + "or with a shell: \(name): [sh, -c, 'echo \"$1\"', sh, \"\(e)\"]"
    }

    /// The list form runs without a shell, but its program may be one (`[sh, -c, "…"]`): a
    /// `${{ }}` where that program reads code is refused, by the rules `run:` commands follow.
    static func argvRefusals(_ items: [TemplateValue], _ name: String, plugin: String) -> [Diagnostic] {
        let words = items.enumerated().map { ShellWord(argument: $1, index: $0) }
        return items.indices.compactMap { k in
            guard let expression = items[k].expressions.first, let reason = ShellContext.argvRefusal(words, at: k) else { return nil }
            let e = "${{ \(expression.source) }}"
            return Diagnostic("\(e) in '\(name)' (plugin '\(plugin)') would not stay one argument of data: \(reason). "
                + "Safe form: pass it as an argument after the program: \(name): [sh, -c, 'echo \"$1\"', sh, \"\(e)\"]",
                at: expression.location)
        }
    }

    /// Resolved values checked and defaulted; errors name the parameter.
    public func bind(_ values: [String: Value], for plugin: any StepPlugin) throws(StepFailure) -> [String: Value] {
        var out: [String: Value] = [:]
        for spec in plugin.parameters {
            guard let value = values[spec.name], !value.isNull else {
                if let d = spec.defaultValue { out[spec.name] = d }
                else if spec.required { throw StepFailure("plugin '\(plugin.name)' needs parameter '\(spec.name)'") }
                continue
            }
            guard let coerced = spec.type.coerce(value) else {
                throw StepFailure("parameter '\(spec.name)' of plugin '\(plugin.name)' must be \(spec.type), not \(value.typeName)")
            }
            out[spec.name] = coerced
        }
        for group in plugin.alternatives {
            let given = group.filter { values[$0].map { !$0.isNull } ?? false }
            if let problem = Self.alternativesProblem(group, given: given, plugin: plugin.name) { throw StepFailure(problem) }
        }
        return out
    }

    /// A group of which exactly one parameter is given (`password` or `password_file`): what is
    /// wrong when none or several of `group` are `given`, for validation and for `bind` alike.
    static func alternativesProblem(_ group: [String], given: [String], plugin: String) -> String? {
        let names = group.map { "'\($0)'" }.joined(separator: " or ")
        if given.isEmpty { return "plugin '\(plugin)' needs parameter \(names)" }
        if given.count > 1 { return "plugin '\(plugin)' takes only one of \(names)" }
        return nil
    }
}
