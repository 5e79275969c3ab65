/// The names a pipeline's expressions and `lua:` steps read, checked before anything runs: an
/// unknown global (`parms.app`), an undeclared param, `steps.<id>` naming no step or one that
/// runs later, and `steps.<id>.outputs.<key>` on a step whose outputs are a list of results.
///
/// Only what is certainly wrong is refused: a `lua:` chunk may define its own names (locals,
/// functions, assignments), and those are never reported.
struct ReferenceCheck {
    let pipeline: Pipeline
    /// Lua's libraries and runner's helpers (`ScriptChecker.standardNames`); nil skips the
    /// unknown-global check.
    let standardNames: Set<String>?

    /// What the engine puts in every expression's environment (`Engine.makeRuntime`, step locals,
    /// `payload` for webhook runs).
    static let environmentNames: Set<String> = ["params", "vars", "secrets", "steps", "run", "env", "item", "host", "payload"]
    /// What a `lua:` step has besides (`runner` module, `require`).
    static let chunkNames: Set<String> = ["runner", "require"]

    /// Where an expression is evaluated: which step ids are visible there.
    private struct Scope {
        var visible: Set<String>
        /// What to say when a step id exists but is not visible ("runs later").
        var before: String
    }

    func diagnostics() -> [Diagnostic] {
        var out: [Diagnostic] = []
        let pipelineScope = Scope(visible: [], before: "vars, env and concurrency are evaluated before any step runs")
        for expression in pipeline.vars.flatMap({ $0.value.expressions }) + pipeline.env.values.flatMap(\.expressions)
            + (pipeline.concurrency?.expressions ?? []) {
            out += check(LuaSource(expression.source), at: expression.location, line: nil, scope: pipelineScope, chunk: false)
        }
        let main = ids(of: pipeline.steps)
        let onFailure = ids(of: pipeline.onFailure)
        out += walk(pipeline.steps, visible: [], block: "steps")
        out += walk(pipeline.onFailure, visible: main, block: "on_failure")
        out += walk(pipeline.finally, visible: main.union(onFailure), block: "finally")
        return out
    }

    /// Steps in order: each sees `visible` and the ids of the steps before it in its list; the
    /// steps of a parallel group (`sequential: false`) see what the group sees, not each other.
    private func walk(_ steps: [Step], visible: Set<String>, block: String, sequential: Bool = true) -> [Diagnostic] {
        var out: [Diagnostic] = []
        var seen = visible
        for step in steps {
            let scope = Scope(visible: seen, before: "a step sees only the steps before it"
                              + (block == "steps" ? "" : " (and, in \(block), the main steps)"))
            for expression in step.expressions {
                out += check(LuaSource(expression.source), at: expression.location, line: nil, scope: scope, chunk: false)
            }
            if case .lua(let code, let at) = step.body {
                out += check(LuaSource(code), at: at, line: at.line, scope: scope, chunk: true)
            }
            if case .parallel(let children) = step.body {
                out += walk(children, visible: seen, block: block, sequential: false)
            }
            if sequential { seen.formUnion(ids(of: [step])) }
        }
        return out
    }

    private func ids(of steps: [Step]) -> Set<String> {
        Set(steps.flatMap { [$0.id].compactMap { $0 } + ids(of: $0.children) })
    }

    /// `line`: for chunks, the pipeline line of the chunk's line 1 (problems point at their line).
    private func check(_ source: LuaSource, at location: SourceLocation, line: Int?, scope: Scope, chunk: Bool) -> [Diagnostic] {
        func at(_ token: LuaSource.Token) -> SourceLocation {
            guard let line else { return location }
            return SourceLocation(file: location.file, line: line + token.line - 1,
                                  column: token.line == 1 ? location.column + token.column - 1 : token.column)
        }
        var out: [Diagnostic] = []
        if let standard = standardNames {
            let known = Self.environmentNames.union(standard).union(chunk ? Self.chunkNames : [])
            var reported = Set<String>()
            for use in source.freeNames where !known.contains(use.name) && reported.insert(use.name).inserted {
                let hint = Suggestion.hint(for: use.name, in: known.subtracting(["_G", "_VERSION", "_ENV"]))
                out.append(Diagnostic("unknown name '\(use.name)'\(hint): expressions see params, vars, secrets, steps, run, env, item, host, payload and Lua's standard functions",
                                      at: at(use.token)))
            }
        }
        let declared = pipeline.params.map(\.name)
        for (path, token) in source.paths(from: "params") where path.count > 1 && !declared.contains(path[1]) {
            let hint = Suggestion.hint(for: path[1], in: declared)
            let list = declared.isEmpty ? "it declares none" : "it declares \(declared.joined(separator: ", "))"
            out.append(Diagnostic("params.\(path[1]): the pipeline has no param '\(path[1])'\(hint); \(list)", at: at(token)))
        }
        let all = ids(of: pipeline.steps).union(ids(of: pipeline.onFailure)).union(ids(of: pipeline.finally))
        for (path, token) in source.paths(from: "steps") where path.count > 1 {
            let id = path[1]
            guard all.contains(id) else {
                out.append(Diagnostic("steps.\(id): no step has the id '\(id)'\(Suggestion.hint(for: id, in: all))", at: at(token)))
                continue
            }
            guard scope.visible.contains(id) else {
                let line = pipeline.allSteps.first { $0.id == id }.map { " (line \($0.location.line))" } ?? ""
                out.append(Diagnostic("steps.\(id): step '\(id)'\(line) has not run yet here: \(scope.before)", at: at(token)))
                continue
            }
            if path.count > 3, path[2] == "outputs", path[3] != "results",
               let step = pipeline.allSteps.first(where: { $0.id == id }), let fanOut = step.fanOut(in: pipeline.inventory) {
                out.append(Diagnostic(Self.fanOutMessage(id: id, key: path[3], ran: fanOut), at: at(token)))
            }
        }
        return out
    }

    /// The message for `steps.<id>.outputs.<key>` on a step whose outputs are `results`.
    static func fanOutMessage(id: String, key: String, ran: String) -> String {
        "steps.\(id).outputs.\(key): step '\(id)' \(ran): its outputs are steps.\(id).outputs.results[i].outputs.\(key), "
            + "where results is a list of { host, item, status, outputs } (one entry per host and item)"
    }
}

extension Step {
    /// Every `${{ }}` and `if:` of the step itself (not of the steps in a parallel group).
    /// In `run:`, `raw(x)` counts as `x`.
    public var expressions: [Expression] {
        var out: [Expression] = []
        if let c = condition { out.append(c) }
        out += on?.expressions ?? []
        out += env.values.flatMap(\.expressions)
        out += cwd?.expressions ?? []
        out += forEach?.expressions ?? []
        switch body {
        case .run(let t): out += t.expressions.map { $0.rawInner ?? $0 }
        case .uses(_, let with, _): out += with.values.flatMap(\.expressions)
        case .lua, .parallel: break
        }
        return out
    }

    /// How the step runs when its outputs are a list of results, known from how it is written:
    /// `for_each`, or `on:` naming a list or a group. nil for one host, this machine, or an
    /// `on:` expression (decided when it runs).
    public func fanOut(in inventory: Inventory) -> String? {
        if forEach != nil { return "runs once per for_each item" }
        switch on {
        case .list(let items, _)?: return "runs on a list of hosts (\(items.count) named)"
        case .literal(.string(let name), _)? where inventory.groups[name] != nil:
            let n = inventory.resolve(name)?.count ?? 0
            return "runs on the group '\(name)' (\(n) host\(n == 1 ? "" : "s"))"
        default: return nil
        }
    }
}
