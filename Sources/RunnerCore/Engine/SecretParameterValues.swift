/// Values a pipeline hands to plugin parameters marked secret, as far as they are known before
/// anything runs: literals (`password: hunter2`) and the params an expression names
/// (`password: ${{ params.repo_pw }}`). Registering them up front masks them from the first
/// event on — the run's params included — and in `runner plan`, not only once the step starts.
enum SecretParameterValues {
    static func register(_ pipeline: Pipeline, params: [String: Value], plugins: PluginRegistry, in masker: SecretMasker) {
        for value in values(pipeline, plugins: plugins, where: \.urlCredentials) {
            if case .string(let text)? = value.literalValue { for part in URLCredentials.parts(of: text) { masker.add(part) } }
        }
        for value in values(pipeline, plugins: plugins) {
            if let literal = value.literalValue {
                masker.add(literal)
                continue
            }
            for expression in value.expressions {
                for name in paramNames(in: expression.source) { if let v = params[name] { masker.add(v) } }
            }
        }
    }

    /// The `with:` values of every secret parameter in the pipeline's steps.
    static func values(_ pipeline: Pipeline, plugins: PluginRegistry, where marked: (ParameterSpec) -> Bool = \.secret) -> [TemplateValue] {
        func walk(_ steps: [Step]) -> [TemplateValue] {
            steps.flatMap { step -> [TemplateValue] in
                var out = walk(step.children)
                if case .uses(let name, let with, _) = step.body {
                    for spec in plugins[name]?.parameters ?? [] where marked(spec) { if let v = with[spec.name] { out.append(v) } }
                }
                return out
            }
        }
        return walk(pipeline.steps + pipeline.onFailure + pipeline.finally)
    }

    /// `params.x` and `params["x"]` / `params['x']` in Lua source.
    static func paramNames(in source: String) -> [String] {
        var names: [String] = []
        var rest = Substring(source)
        while let range = rest.range(of: "params") {
            rest = rest[range.upperBound...]
            if rest.first == "." {
                let name = rest.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "_" }
                if !name.isEmpty { names.append(String(name)) }
            } else if rest.first == "[", let quote = rest.dropFirst().first, quote == "\"" || quote == "'" {
                let name = rest.dropFirst(2).prefix { $0 != quote }
                if !name.isEmpty { names.append(String(name)) }
            }
        }
        return names
    }
}
