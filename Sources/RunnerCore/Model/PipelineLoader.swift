import Foundation

/// Loads a pipeline file into a `Pipeline`, validating everything that can be checked
/// before anything runs: structure, types, plugin parameters, Lua syntax, host names.
/// All problems of a file are reported together as one `InvalidInput`.
public struct PipelineLoader: Sendable {
    public var plugins: PluginRegistry
    public var checker: (any ScriptChecker)?
    /// `--inventory`: replaces the pipeline's own `inventory:` and the one found beside it.
    public var inventoryOverride: String?

    public init(plugins: PluginRegistry, checker: (any ScriptChecker)? = nil, inventoryOverride: String? = nil) {
        self.plugins = plugins
        self.checker = checker
        self.inventoryOverride = inventoryOverride
    }

    static let topLevelKeys = [
        "name", "description", "params", "inventory", "hosts", "groups", "vars", "secrets", "env",
        "concurrency", "timeout", "steps", "finally", "on_failure",
    ]
    static let stepKeys = [
        "id", "name", "if", "on", "run", "uses", "with", "lua", "parallel", "env", "cwd", "timeout",
        "retry", "continue_on_error", "for_each", "max_parallel", "sudo",
    ]
    /// `sudo: true` is root, `false` is none, a string is a user name (checked, since it is
    /// passed to sudo on the host).
    static func readSudo(_ node: YAMLNode, reader r: inout YAMLReader) -> String? {
        if case .bool(let on) = node.value { return on ? "root" : nil }
        guard let user = r.string(node, what: "sudo") else { return nil }
        guard InventoryLoader.isUserName(user) else {
            r.error("sudo must be true, false or a user name, not '\(user)'", at: node.location)
            return nil
        }
        return user
    }

    static let paramKeys = ["required", "default", "pattern", "type", "description", "secret"]

    /// Reads and loads `path`.
    public func load(path: String) throws(InvalidInput) -> Pipeline {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw InvalidInput("\(path): no such pipeline file")
        }
        if isDir.boolValue { throw InvalidInput("\(path): is a directory, not a pipeline file") }
        return try load(bytes: try YAMLParser.readFile(path), file: path)
    }

    public func load(bytes: [UInt8], file: String) throws(InvalidInput) -> Pipeline {
        guard let root = try YAMLParser.parse(bytes, file: file) else {
            throw InvalidInput("pipeline file is empty", at: SourceLocation(file: file, line: 1, column: 1))
        }
        var reader = YAMLReader()
        let pipeline = read(root, file: file, reader: &reader)
        if let pipeline {
            check(pipeline, reader: &reader)
        }
        guard let pipeline, reader.diagnostics.isEmpty else { throw InvalidInput(reader.diagnostics) }
        return pipeline
    }

    // MARK: - Reading

    private func read(_ root: YAMLNode, file: String, reader r: inout YAMLReader) -> Pipeline? {
        guard let entries = r.mapping(root, what: "the pipeline", known: Self.topLevelKeys) else { return nil }
        let base = Paths.fileName(of: file)
        var pipeline = Pipeline(
            name: base.hasSuffix(".yml") || base.hasSuffix(".yaml") ? String(base.prefix(upTo: base.lastIndex(of: ".")!)) : base,
            description: nil, file: file, params: [], inventoryPath: nil, inventory: Inventory(), vars: [], secrets: [],
            env: [:], concurrency: nil, timeout: nil, steps: [], finally: [], onFailure: [], location: root.location)
        var sawSteps = false
        var inline = Inventory()
        for (key, node, keyLocation) in entries {
            switch key {
            case "name": pipeline.name = r.string(node, what: "name") ?? pipeline.name
            case "description": pipeline.description = r.string(node, what: "description")
            case "params": pipeline.params = readParams(node, reader: &r)
            case "inventory": pipeline.inventoryPath = r.string(node, what: "inventory")
            case "hosts": InventoryLoader.readHosts(node, into: &inline, reader: &r)
            case "groups": InventoryLoader.readGroups(node, into: &inline, reader: &r)
            case "vars":
                if let pairs = r.mapping(node, what: "vars", known: []) {
                    for (name, value, nameLocation) in pairs {
                        if !isIdentifier(name) {
                            r.error("var name '\(name)' must be a Lua identifier (letters, digits, _)", at: nameLocation)
                        }
                        if let v = r.templateValue(value) { pipeline.vars.append((name, v)) }
                    }
                }
            case "secrets": pipeline.secrets = readSecrets(node, reader: &r)
            case "env": pipeline.env = readEnv(node, reader: &r)
            case "concurrency":
                pipeline.concurrency = r.template(node, what: "concurrency")
                if let key = pipeline.concurrency, let problem = RunLock.problem(withTemplate: key) { r.error(problem, at: node.location) }
            case "timeout": pipeline.timeout = r.duration(node, what: "timeout", positive: true)
            case "steps":
                sawSteps = true
                pipeline.steps = readSteps(node, what: "steps", reader: &r)
                if pipeline.steps.isEmpty, node.sequence?.isEmpty ?? false {
                    r.error("steps must list at least one step", at: node.location)
                }
            case "finally": pipeline.finally = readSteps(node, what: "finally", reader: &r)
            case "on_failure": pipeline.onFailure = readSteps(node, what: "on_failure", reader: &r)
            default: r.error("unknown key '\(key)'", at: keyLocation)
            }
        }
        if !sawSteps { r.error("the pipeline has no 'steps'", at: root.location) }
        inline.file = file
        pipeline.inventory = inline
        loadInventoryFile(into: &pipeline, reader: &r)
        return pipeline
    }

    private func loadInventoryFile(into pipeline: inout Pipeline, reader r: inout YAMLReader) {
        let path: String?
        if let inventoryOverride {
            path = inventoryOverride
            pipeline.inventoryOverride = inventoryOverride
        } else if let declared = pipeline.inventoryPath {
            path = declared.hasPrefix("/") ? declared : pipeline.directory + "/" + declared
        } else {
            let beside = pipeline.directory + "/inventory.yml"
            path = FileManager.default.fileExists(atPath: beside) ? beside : nil
        }
        guard let path else { return }
        do throws(InvalidInput) {
            pipeline.inventory.merge(try InventoryLoader.read(path: path, reader: &r))
        } catch {
            r.diagnostics += error.diagnostics
        }
    }

    /// The inline hosts merged with the inventory file, checked as one inventory, and its
    /// credentials against the secrets this pipeline declares.
    private func checkInventory(_ pipeline: Pipeline, reader r: inout YAMLReader) {
        InventoryLoader.check(pipeline.inventory, reader: &r)
        var names = Set(pipeline.params.filter(\.secret).map(\.name))
        var sops = false
        for source in pipeline.secrets {
            switch source {
            case .environment(_, let name, _): names.insert(name)
            case .sops: sops = true
            }
        }
        InventoryLoader.checkCredentials(pipeline.inventory, uses: CredentialUse.uses(of: pipeline), names: names,
                                         sopsSources: sops, reader: &r)
    }

    private func readParams(_ node: YAMLNode, reader r: inout YAMLReader) -> [ParamSpec] {
        guard let entries = r.mapping(node, what: "params", known: []) else { return [] }
        var out: [ParamSpec] = []
        for (name, spec, nameLocation) in entries {
            if !isIdentifier(name) {
                r.error("param name '\(name)' must be a Lua identifier (letters, digits, _)", at: nameLocation)
            }
            var param = ParamSpec(name: name, type: .string, required: false, defaultValue: nil, pattern: nil,
                                  description: nil, secret: false, location: nameLocation)
            if spec.scalar != nil && spec.value.isNull {
                out.append(param)
                continue
            }
            guard let fields = r.mapping(spec, what: "param '\(name)'", known: Self.paramKeys) else { continue }
            var typeNode: YAMLNode?
            for (key, value, _) in fields {
                switch key {
                case "required": param.required = r.bool(value, what: "'required'") ?? false
                case "default": param.defaultValue = value.value
                case "description": param.description = r.string(value, what: "'description'")
                case "secret": param.secret = r.bool(value, what: "'secret'") ?? false
                case "type":
                    typeNode = value
                    if let t = r.string(value, what: "'type'") {
                        if let type = ParameterType(name: t), [.string, .int, .bool, .list, .number].contains(type) {
                            param.type = type
                        } else {
                            r.error("param type must be string, int, bool, number or list, not '\(t)'", at: value.location)
                        }
                    }
                case "pattern":
                    if let p = r.string(value, what: "'pattern'") {
                        do {
                            _ = try ParamPattern(p)
                            param.pattern = p
                        } catch {
                            r.error("'\(p)' is not a valid regular expression for 'pattern': \(error) (see docs/pipelines.md, Params)",
                                    at: value.location)
                        }
                    }
                default: break
                }
            }
            if let d = param.defaultValue, param.type.coerce(d) == nil {
                r.error("default of param '\(name)' must be \(param.type), not \(d.typeName)", at: typeNode?.location ?? nameLocation)
            }
            out.append(param)
        }
        return out
    }

    private func readSecrets(_ node: YAMLNode, reader r: inout YAMLReader) -> [SecretSource] {
        guard let items = node.sequence else {
            r.error("secrets must be a list of sources like '- env: API_TOKEN' or '- sops: secrets.env.sops'", at: node.location)
            return []
        }
        var out: [SecretSource] = []
        for item in items {
            guard let fields = r.mapping(item, what: "a secret source", known: ["env", "sops", "as", "key_file"]) else { continue }
            var variable: String?, sops: String?, alias: String?, keyFile: String?
            for (key, value, _) in fields {
                switch key {
                case "env": variable = r.string(value, what: "'env'")
                case "sops": sops = r.string(value, what: "'sops'")
                case "as": alias = r.string(value, what: "'as'")
                case "key_file": keyFile = r.string(value, what: "'key_file'")
                default: break
                }
            }
            switch (variable, sops) {
            case (let v?, nil): out.append(.environment(variable: v, name: alias ?? v, location: item.location))
            case (nil, let s?): out.append(.sops(path: s, keyFile: keyFile, location: item.location))
            default: r.error("a secret source needs exactly one of 'env' or 'sops'", at: item.location)
            }
        }
        return out
    }

    private func readEnv(_ node: YAMLNode, reader r: inout YAMLReader) -> [String: TemplateValue] {
        guard let entries = r.mapping(node, what: "env", known: []) else { return [:] }
        var out: [String: TemplateValue] = [:]
        for (name, value, nameLocation) in entries {
            if !ShellQuote.isVariableName(name) {
                r.error("'\(name)' is not a valid environment variable name (ASCII letters, digits and _, not starting with a digit)", at: nameLocation)
                continue
            }
            if value.scalar == nil {
                r.error("env value '\(name)' must be a string, not \(r.kindName(value))", at: value.location)
                continue
            }
            if let v = r.templateValue(value) { out[name] = v }
        }
        return out
    }

    private func readSteps(_ node: YAMLNode, what: String, reader r: inout YAMLReader) -> [Step] {
        guard let items = node.sequence else {
            r.error("\(what) must be a list of steps, not \(r.kindName(node))", at: node.location)
            return []
        }
        return items.compactMap { readStep($0, reader: &r) }
    }

    private func readStep(_ node: YAMLNode, reader r: inout YAMLReader) -> Step? {
        guard let fields = r.mapping(node, what: "a step", known: Self.stepKeys) else { return nil }
        var step = Step(id: nil, name: nil, body: .lua(code: "", location: node.location), condition: nil, on: nil,
                        env: [:], cwd: nil, timeout: nil, retry: .none, continueOnError: false, forEach: nil,
                        maxParallel: nil, location: node.location)
        var bodies: [(String, SourceLocation)] = []
        var withNode: YAMLNode?, withKey: SourceLocation?
        var uses: (String, SourceLocation)?
        for (key, value, keyLocation) in fields {
            switch key {
            case "id":
                if let id = r.string(value, what: "id") {
                    if isIdentifier(id) { step.id = id } else {
                        r.error("step id '\(id)' must start with a letter or _ and hold only letters, digits and _ (it is used as steps.\(id) in expressions)", at: value.location)
                    }
                }
            case "name": step.name = r.string(value, what: "name")
            case "if":
                if let text = r.string(value, what: "if") {
                    var at = value.location
                    if let style = value.scalar?.style, style == .singleQuoted || style == .doubleQuoted { at.column += 1 }
                    if text.contains("${{") {
                        r.error("'if' is already a Lua expression: write it without ${{ }}", at: at)
                    } else {
                        step.condition = Expression(text, at: at)
                    }
                }
            case "on":
                if value.mapping != nil { r.error("'on' must be a host, a group or a list of them", at: value.location) }
                else { step.on = r.templateValue(value) }
            case "run":
                bodies.append((key, keyLocation))
                if let t = r.template(value, what: "run") { step.body = .run(t) }
            case "uses":
                bodies.append((key, keyLocation))
                if let p = r.string(value, what: "uses") { uses = (p, value.location) }
            case "with":
                withNode = value
                withKey = keyLocation
            case "lua":
                bodies.append((key, keyLocation))
                if let code = r.string(value, what: "lua") {
                    var at = value.location
                    if let style = value.scalar?.style {
                        switch style {
                        case .literal, .folded: at = SourceLocation(file: at.file, line: at.line + 1, column: 1)
                        case .singleQuoted, .doubleQuoted: at.column += 1
                        default: break
                        }
                    }
                    step.body = .lua(code: code, location: at)
                }
            case "parallel":
                bodies.append((key, keyLocation))
                let children = readSteps(value, what: "parallel", reader: &r)
                if children.isEmpty, value.sequence?.isEmpty ?? false {
                    r.error("parallel must list at least one step", at: value.location)
                }
                step.body = .parallel(children)
            case "env": step.env = readEnv(value, reader: &r)
            case "cwd": step.cwd = r.template(value, what: "cwd")
            case "timeout": step.timeout = r.duration(value, what: "timeout", positive: true)
            case "retry": step.retry = readRetry(value, reader: &r) ?? .none
            case "continue_on_error": step.continueOnError = r.bool(value, what: "continue_on_error") ?? false
            case "for_each":
                let literal = value.scalar != nil && !(value.scalar?.text.contains("${{") ?? false)
                if value.mapping != nil || literal { r.error("for_each must be a list or an expression that gives one", at: value.location) }
                else { step.forEach = r.templateValue(value) }
            case "max_parallel": step.maxParallel = r.int(value, what: "max_parallel", range: 1...1000)
            case "sudo": step.sudo = Self.readSudo(value, reader: &r)
            default: break
            }
        }
        if bodies.isEmpty {
            r.error("step has nothing to do: give it one of 'run', 'uses', 'lua' or 'parallel'", at: node.location)
        } else if bodies.count > 1 {
            let names = bodies.map { "'\($0.0)'" }.joined(separator: " and ")
            r.error("step has both \(names): give it exactly one", at: bodies[1].1)
        }
        if let withNode, uses == nil {
            r.error("'with' belongs to a plugin step: add 'uses'", at: withKey ?? withNode.location)
        }
        if let (plugin, at) = uses {
            var with: [String: TemplateValue] = [:]
            var keyLocations: [String: SourceLocation] = [:]
            if let withNode, let entries = r.mapping(withNode, what: "with", known: []) {
                for (key, value, keyLocation) in entries {
                    keyLocations[key] = keyLocation
                    if let v = r.templateValue(value) { with[key] = v }
                }
            }
            step.body = .uses(plugin: plugin, with: with, keyLocations: keyLocations)
            if plugins[plugin] == nil {
                r.error(plugins.unknown(plugin), at: at)
            }
        }
        if case .parallel = step.body {
            for (key, _, keyLocation) in fields where ["timeout", "retry", "for_each", "on"].contains(key) {
                r.error("'\(key)' does not apply to a parallel group: set it on the steps inside", at: keyLocation)
            }
        }
        if step.maxParallel != nil, step.forEach == nil, step.on == nil {
            r.error("max_parallel applies to 'for_each' or to steps on several hosts", at: node.location)
        }
        return step
    }

    private func readRetry(_ node: YAMLNode, reader r: inout YAMLReader) -> RetryPolicy? {
        if case .int = node.value {
            guard let n = r.int(node, what: "retry", range: 1...100) else { return nil }
            return RetryPolicy(attempts: n, delay: .seconds(1), backoff: 1)
        }
        guard let fields = r.mapping(node, what: "retry", known: ["attempts", "delay", "backoff"]) else { return nil }
        var policy = RetryPolicy(attempts: 3, delay: .seconds(1), backoff: 1)
        for (key, value, _) in fields {
            switch key {
            case "attempts": policy.attempts = r.int(value, what: "retry attempts", range: 1...100) ?? policy.attempts
            case "delay": policy.delay = r.duration(value, what: "retry delay") ?? policy.delay
            case "backoff":
                if let b = value.value.doubleValue, value.value.stringValue == nil, b >= 1, b <= 10 { policy.backoff = b }
                else { r.error("retry backoff must be a number from 1 to 10 (the delay's multiplier per attempt)", at: value.location) }
            default: break
            }
        }
        return policy
    }

    // MARK: - Cross-checks

    private func check(_ pipeline: Pipeline, reader r: inout YAMLReader) {
        checkInventory(pipeline, reader: &r)
        var seenIDs: [String: SourceLocation] = [:]
        for step in pipeline.allSteps {
            if let id = step.id {
                if let first = seenIDs[id] {
                    r.error("duplicate step id '\(id)' (first used at line \(first.line))", at: step.location)
                } else {
                    seenIDs[id] = step.location
                }
            }
            if case .uses(let name, let with, let keyLocations) = step.body, let plugin = plugins[name] {
                r.diagnostics += plugins.validate(with, for: plugin, at: step.location, keyLocations: keyLocations)
            }
            if let on = step.on { checkHosts(on, in: pipeline.inventory, reader: &r) }
            if case .run(let template) = step.body { r.diagnostics += ShellContext.diagnostics(for: template) }
        }
        r.diagnostics += PipelineLocator.selfCalls(in: pipeline)
        r.diagnostics += PipelineLocator.missingCalls(in: pipeline)
        guard let checker else { return }
        var syntax: [Diagnostic] = []
        for expression in expressions(of: pipeline) {
            if let d = checker.check(expression: expression) { syntax.append(d) }
        }
        for step in pipeline.allSteps {
            if case .lua(let code, let at) = step.body, let d = checker.check(chunk: code, at: at) { syntax.append(d) }
        }
        r.diagnostics += syntax
        // Names are only worth checking in code that compiles.
        if syntax.isEmpty {
            r.diagnostics += ReferenceCheck(pipeline: pipeline, standardNames: checker.standardNames).diagnostics()
        }
    }

    private func checkHosts(_ on: TemplateValue, in inventory: Inventory, reader r: inout YAMLReader) {
        for (name, at) in CredentialUse.literalHostNames(on) where name != "local" && inventory.resolve(name) == nil {
            let hint = Suggestion.hint(for: name, in: inventory.names)
            let known = inventory.isEmpty ? "no inventory defines any host" : "the inventory has no host or group '\(name)'"
            r.error("unknown host '\(name)': \(known)\(hint)", at: at)
        }
    }

    private func expressions(of pipeline: Pipeline) -> [Expression] {
        var out: [Expression] = []
        out += pipeline.vars.flatMap { $0.value.expressions }
        out += pipeline.env.values.flatMap(\.expressions)
        out += pipeline.concurrency?.expressions ?? []
        return out + pipeline.allSteps.flatMap(\.expressions)
    }
}

func isIdentifier(_ s: String) -> Bool { ShellQuote.isVariableName(s) }
