/// Checks `key=value` params against a pipeline's `params:` and gives their typed values.
public enum ParamResolver {
    /// Splits `app=phone` into its key and value; `nil` when there is no `=` or no key.
    public static func split(_ assignment: String) -> (key: String, value: String)? {
        guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else { return nil }
        return (String(assignment[..<eq]), String(assignment[assignment.index(after: eq)...]))
    }

    /// Every declared param gets a value (given, default, or null when optional); problems name the param.
    public static func resolve(_ given: [String: Value], for pipeline: Pipeline) throws(InvalidInput) -> [String: Value] {
        var problems: [Diagnostic] = []
        let declared = Set(pipeline.params.map(\.name))
        for key in given.keys.sorted() where !declared.contains(key) {
            let hint = Suggestion.hint(for: key, in: declared)
            let known = declared.isEmpty ? "it takes no params" : "its params are \(declared.sorted().joined(separator: ", "))"
            problems.append(Diagnostic("pipeline '\(pipeline.name)' has no param '\(key)'\(hint); \(known)"))
        }
        var out: [String: Value] = [:]
        for spec in pipeline.params {
            guard let raw = given[spec.name] ?? spec.defaultValue else {
                if spec.required {
                    let doc = spec.description.map { " (\($0))" } ?? ""
                    problems.append(Diagnostic("missing required param '\(spec.name)'\(doc): pass \(spec.name)=..."))
                } else {
                    out[spec.name] = .null
                }
                continue
            }
            guard let value = spec.type.coerce(raw) else {
                problems.append(Diagnostic("param '\(spec.name)' must be \(spec.type), not '\(spec.secret ? "***" : raw.interpolated)'"))
                continue
            }
            // Like JSON Schema's `pattern`: a search; anchor with ^...$ for a whole match. Linear
            // time for any pattern (ParamPattern); the loader refused patterns that do not compile.
            if let source = spec.pattern {
                let pattern = try? ParamPattern(source)
                let texts = value.listValue?.map(\.interpolated) ?? [value.interpolated]
                if let bad = texts.first(where: { pattern?.matches($0) != true }) {
                    let shown = spec.secret ? "***" : bad.utf8.count > 200 ? String(bad.prefix(200)) + "…" : bad
                    let long = bad.utf8.count > ParamPattern.maxValueLength ? " (values over \(ParamPattern.maxValueLength) bytes never match)" : ""
                    problems.append(Diagnostic("param '\(spec.name)' = '\(shown)' does not match pattern \(source)\(long)"))
                    continue
                }
            }
            out[spec.name] = value
        }
        if !problems.isEmpty { throw InvalidInput(problems) }
        return out
    }
}
