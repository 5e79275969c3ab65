/// How the plan shows a `with:` value: resolved as far as params, vars and host labels go.
extension Planner {
    /// `value` for each host the step runs on (`hosts`: name and the locals a step there
    /// sees), once when every host gives the same text, else `text (host), …`. Expressions
    /// that cannot be evaluated yet (step outputs, secrets, `item`) are shown as written.
    func shown(_ value: TemplateValue, hosts: [(String, [String: Value])], state: RunState?, masker: SecretMasker) async -> String {
        if let literal = value.literalValue { return masker.mask(literal.interpolated) }
        guard let state else { return masker.mask(Self.written(value).interpolated) }
        var texts: [(host: String, text: String)] = []
        for (host, locals) in hosts.isEmpty ? [("", [:])] : hosts {
            texts.append((host, masker.mask(await display(value, locals: locals, state: state).interpolated)))
        }
        if Set(texts.map(\.text)).count == 1 { return texts[0].text }
        return texts.map { "\($0.text) (\($0.host))" }.joined(separator: ", ")
    }

    /// The value with every expression evaluated, or left as written where it fails or gives nil.
    private func display(_ value: TemplateValue, locals: [String: Value], state: RunState) async -> Value {
        switch value {
        case .literal(let v, _): return v
        case .template(let template):
            if let whole = template.wholeExpression {
                guard let v = try? await state.runtime.evaluate(whole, locals: locals), !v.isNull else { return Self.written(value) }
                return v
            }
            var text = ""
            for part in template.parts {
                switch part {
                case .text(let t): text += t
                case .expression(let e):
                    let v = try? await state.runtime.evaluate(e, locals: locals)
                    text += v.flatMap { $0.isNull ? nil : $0.interpolated } ?? "${{ \(e.source) }}"
                }
            }
            return .string(text)
        case .list(let items, _):
            var out: [Value] = []
            for item in items { out.append(await display(item, locals: locals, state: state)) }
            return .list(out)
        case .map(let entries, _):
            var out: [String: Value] = [:]
            for (key, item) in entries { out[key] = await display(item, locals: locals, state: state) }
            return .map(out)
        }
    }

    /// The value as written, `${{ }}` included.
    static func written(_ value: TemplateValue) -> Value {
        switch value {
        case .literal(let v, _): v
        case .template(let template): .string(template.source)
        case .list(let items, _): .list(items.map(written))
        case .map(let entries, _): .map(entries.mapValues(written))
        }
    }
}
