/// `runner plan` and `--dry-run`: the resolved params, vars, steps and hosts, without running anything.
/// `run:` and `with:` are shown with what params, vars and host labels give; expressions that
/// need step outputs (or secrets, which a plan does not load) are shown as written.
public struct Planner: Sendable {
    public let engine: Engine
    public let pipeline: Pipeline
    public let params: [String: Value]
    /// `--limit`: the hosts and groups steps may run on (`nil`: all).
    public let limit: [String]?

    public init(engine: Engine, pipeline: Pipeline, params: [String: Value], limit: [String]? = nil) {
        self.engine = engine
        self.pipeline = pipeline
        self.params = params
        self.limit = limit
    }

    public struct PlannedStep: Sendable {
        public var depth: Int
        public var phase: String?
        public var name: String
        public var kind: String
        public var detail: String
        public var hosts: [String]
        public var condition: String?
        /// `sudo:` user, when the step has one.
        public var sudo: String?
        /// The step has `on:` but `--limit` leaves it no host: it will not run.
        public var limitedOut = false
    }

    public struct Plan: Sendable {
        public var pipeline: String
        public var file: String
        public var params: [String: Value]
        public var vars: [(String, String)]
        public var steps: [PlannedStep]

        public func text() -> String {
            var out = "pipeline \(pipeline) (\(file))\n"
            if !params.isEmpty {
                out += "params:\n" + params.keys.sorted().map { "  \($0) = \(params[$0]!.interpolated)\n" }.joined()
            }
            if !vars.isEmpty {
                out += "vars:\n" + vars.map { "  \($0.0) = \($0.1)\n" }.joined()
            }
            out += "steps:\n"
            var lastPhase: String?
            for step in steps {
                if step.phase != lastPhase, let phase = step.phase { out += "\(phase):\n" }
                lastPhase = step.phase
                let indent = String(repeating: "  ", count: step.depth + 1)
                let hosts = step.limitedOut ? "no host within --limit" : step.hosts.isEmpty ? "local" : step.hosts.joined(separator: ", ")
                out += "\(indent)- \(step.name)  [\(step.kind) on \(hosts)\(step.sudo.map { ", sudo as \($0)" } ?? "")]"
                if let c = step.condition { out += "  if: \(c)" }
                out += "\n"
                if !step.detail.isEmpty {
                    for line in step.detail.split(separator: "\n") { out += "\(indent)    \(line)\n" }
                }
            }
            return out
        }
    }

    public func plan() async -> Plan {
        let masker = SecretMasker()
        for spec in pipeline.params where spec.secret { if let v = params[spec.name] { masker.add(v) } }
        var vars: [(String, Value?)] = []
        var state: RunState?
        if let runtime = try? await engine.makeRuntime(pipeline, params: params, options: .init(runID: "plan", trigger: "plan"), masker: masker) {
            let emitter = EventEmitter(runID: "plan", masker: masker, sinks: [])
            let s = RunState(runID: "plan", pipeline: pipeline, runtime: runtime, emitter: emitter, depth: 0, heldLocks: [],
                             limit: Engine.limitHosts(limit, in: pipeline))
            for (name, value) in pipeline.vars {
                let v = try? await engine.resolve(value, locals: [:], state: s)
                if let v { try? await runtime.set(["vars", name], v) }
                vars.append((name, v))
            }
            state = s
        }
        // Values given to secret plugin parameters are secrets wherever else they show (a param
        // or var they came from, a `run:` that uses them too): register them before showing
        // anything, evaluating the expressions that can be evaluated now.
        SecretParameterValues.register(pipeline, params: params, plugins: engine.plugins, in: masker)
        if let state {
            for value in SecretParameterValues.values(pipeline, plugins: engine.plugins) where value.literalValue == nil {
                if let resolved = try? await engine.resolve(value, locals: [:], state: state) { masker.add(resolved) }
            }
        }
        var steps: [PlannedStep] = []
        func walk(_ list: [Step], depth: Int, phase: String?) async {
            for step in list {
                // Everything shown goes through the masker: a name made from the command, literal text.
                var planned = PlannedStep(depth: depth, phase: phase, name: masker.mask(engine.plugins.displayName(of: step)), kind: "", detail: "",
                                          hosts: [], condition: step.condition.map { masker.mask($0.source) }, sudo: step.sudo)
                if let on = step.on {
                    if let state, let resolved = try? await engine.resolveHosts(on, state: state) {
                        planned.hosts = resolved.hosts
                        planned.limitedOut = resolved.hosts.isEmpty
                    } else {
                        planned.hosts = ["(decided at run time)"]
                    }
                }
                // `host` as a step on it sees it (one set of locals per host; none for a local step).
                let hostLocals: [(String, [String: Value])] = planned.hosts == ["(decided at run time)"] ? [] : planned.hosts.map {
                    ($0, ["host": pipeline.inventory.expressionValue(ofHost: $0)])
                }
                switch step.body {
                case .run(let t):
                    planned.kind = "run"
                    if let state {
                        let locals = hostLocals.count == 1 ? hostLocals[0].1 : [:]
                        planned.detail = masker.mask(await engine.renderForDisplay(t, locals: locals, state: state))
                    } else {
                        planned.detail = masker.mask(t.source)
                    }
                case .uses(let plugin, let with, _):
                    planned.kind = "uses \(plugin)"
                    let secret = Set((engine.plugins[plugin]?.parameters ?? []).filter(\.secret).map(\.name))
                    var lines: [String] = []
                    for key in with.keys.sorted() {
                        let shown = secret.contains(key)
                            ? Self.hidden(with[key]!)
                            : await self.shown(with[key]!, hosts: hostLocals, state: state, masker: masker)
                        lines.append("\(key): \(shown)")
                    }
                    planned.detail = lines.joined(separator: "\n")
                case .lua: planned.kind = "lua"
                case .parallel: planned.kind = "parallel"
                }
                if step.forEach != nil { planned.kind += ", for each item" }
                steps.append(planned)
                await walk(step.children, depth: depth + 1, phase: phase)
            }
        }
        await walk(pipeline.steps, depth: 0, phase: nil)
        await walk(pipeline.onFailure, depth: 0, phase: "on_failure")
        await walk(pipeline.finally, depth: 0, phase: "finally")
        let shownVars = vars.map { name, value in (name, value.map { masker.mask($0.interpolated) } ?? "(needs run-time values)") }
        return Plan(pipeline: pipeline.name, file: pipeline.file, params: masker.mask(params), vars: shownVars, steps: steps)
    }

    /// A secret plugin parameter as the plan shows it: `***`, or for a map (an `env:` of
    /// credentials) its keys with `***` values.
    static func hidden(_ value: TemplateValue) -> String {
        let keys: [String]
        switch value {
        case .map(let entries, _): keys = Array(entries.keys)
        case .literal(.map(let entries), _): keys = Array(entries.keys)
        default: return SecretMasker.mask
        }
        return JSON.encode(.map(Dictionary(uniqueKeysWithValues: keys.map { ($0, Value.string(SecretMasker.mask)) })))
    }
}
