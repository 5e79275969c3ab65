/// A whole `run:` template through the tracker: the load-time check and the messages.
extension ShellContext {
    /// The refusals of a `run:` template, at each refused expression's location. `raw(...)` text
    /// is not known before the run: it enters the tracker when the step runs (`renderShell`).
    static func diagnostics(for template: Template) -> [Diagnostic] {
        var context = ShellContext()
        var expressions: [Expression] = []
        for part in template.parts {
            switch part {
            case .text(let text): context.consume(text)
            case .expression(let expression):
                guard expression.rawInner == nil else { continue }
                context.value(expressions.count)
                expressions.append(expression)
            }
        }
        context.finish()
        return context.refusals.sorted { $0.key < $1.key }.map { index, reason in
            Diagnostic(refusal(expressions[index], reason), at: expressions[index].location)
        }
    }

    /// "`${{ params.port }}` cannot stay one literal word here: <reason>. Safe form: …"
    static func refusal(_ expression: Expression, _ reason: String) -> String {
        let name = variableName(for: expression)
        return "${{ \(expression.source) }} cannot stay one literal word here: \(reason). Safe form: "
            + "env: { \(name): \"${{ \(expression.source) }}\" } on the step, and \"$\(name)\" in the script"
    }

    /// A variable name for the safe form: `params.port` → `PORT`, never one the shell itself uses.
    static func variableName(for expression: Expression) -> String {
        let last = expression.source.matches(of: /[A-Za-z_][A-Za-z0-9_]*/).last.map { String($0.output) } ?? "value"
        let name = last.uppercased()
        let shellOwn: Set<String> = ["PATH", "HOME", "IFS", "PWD", "OLDPWD", "SHELL", "USER", "ENV", "BASH_ENV", "CDPATH",
                                     "PS1", "PS2", "PS4", "LANG", "TERM", "HOSTNAME", "UID", "EUID", "RANDOM", "LINENO", "OPTARG", "OPTIND"]
        if shellOwn.contains(name) || name.hasPrefix("RUNNER_") || name.hasPrefix("LD_") || name.hasPrefix("LC_") || name.hasPrefix("BASH") {
            return name + "_VALUE"
        }
        return name
    }
}
