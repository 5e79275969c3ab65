import Foundation
import RunnerCore

/// The `runner` module of `lua:` steps and Lua plugins. Every function that can fail raises a
/// Lua error with a clear message (catchable with `pcall`); `runner.exec` returns a failed
/// command's result instead, as commands' exit codes are data.
extension LuaStep {
    func install(in state: LuaState, control: Control) throws(LuaError) {
        let context = self.context
        let secrets = environment["secrets"]?.mapValue ?? [:]
        try state.setGlobal("runner", .map([:]))

        try state.register("runner.log") { args in
            context.log(args.values.map(\.interpolated).joined(separator: " "))
            return []
        }
        try state.register("runner.warn") { args in
            context.log(args.values.map(\.interpolated).joined(separator: " "), level: .warn)
            return []
        }
        try state.register("runner.fail") { args in
            let message = args.values.isEmpty ? "failed" : args[0].interpolated
            control.failure = message
            throw LuaStepFailure(message: message)
        }

        // Commands.
        try state.register("runner.sh") { args in
            let command = try args.string(0)
            let result = try control.block { try await context.run(.shell(command)) }
            guard result.exitCode == 0 else {
                let tail = result.stderrTail
                throw LuaStepFailure(message: "command failed (\(result.failureReason))" + (tail.isEmpty ? "" : ": \(tail)"))
            }
            guard !result.stdoutTruncated else {
                throw LuaStepFailure(message: "runner.sh: the command printed more than the \(ByteCount.format(Command.defaultOutputLimit)) kept; "
                    + "write its output to a file and read it with runner.read_file, or use runner.exec and check stdout_truncated")
            }
            return [.string(result.stdout)]
        }
        try state.register("runner.exec") { args in
            let command = try args.string(0)
            let options = try Options(args[1], function: "runner.exec", allowed: ["on", "env", "cwd", "timeout", "stdin"])
            // Not logged: the script gets the output as data and logs what matters (a `df` line is not it).
            let result = try control.block {
                let step = try await context.on(options.host)
                let run = Command(.shell(command), environment: step.environment.merging(options.env) { _, new in new },
                                  workingDirectory: options.cwd ?? step.workingDirectory, stdin: options.stdin.map { Array($0.utf8) },
                                  timeout: options.timeout)
                return try await step.target.run(run) { _ in }
            }
            var out = result.outputValues
            out["ok"] = .bool(result.succeeded)
            out["timed_out"] = .bool(result.timedOut)
            return [.map(out)]
        }

        try state.register("runner.quote") { args in [.string(ShellQuote.quote(args[0].interpolated))] }

        // Plugins.
        try state.register("runner.step") { args in
            let name = try args.string(0)
            let params = args[1].mapValue ?? [:]
            let result = try control.block { try await context.runPlugin(name, params) }
            return [.map(result.outputs)]
        }

        // Run history: the `history` plugin's search; nil when no run matches.
        try state.register("runner.history.last") { args in
            guard let spec = args[0].mapValue else {
                throw LuaArgumentError("runner.history.last takes a table: { pipeline = 'deploy', params = { app = 'phone' }, status = 'succeeded', offset = 0 }")
            }
            let allowed = ["pipeline", "params", "status", "offset", "run_id"]
            for key in spec.keys.sorted() where !allowed.contains(key) {
                throw LuaArgumentError("runner.history.last: unknown field '\(key)'\(Suggestion.hint(for: key, in: allowed)); fields are \(allowed.joined(separator: ", "))")
            }
            let result = try control.block { try await context.runPlugin("history", spec.merging(["required": .bool(false)]) { _, new in new }) }
            guard result.outputs["found"]?.boolValue == true else { return [.null] }
            return [.map(result.outputs.filter { $0.key != "found" })]
        }

        // Files on a target.
        try state.register("runner.read_file") { args in
            let path = try args.string(0)
            let options = try Options(args[1], function: "runner.read_file", allowed: ["on", "limit"])
            let bytes = try control.block {
                try await context.on(options.host).target.readFile(path, limit: options.limit ?? (16 << 20))
            }
            return [.string(String(decoding: bytes, as: UTF8.self))]
        }
        try state.register("runner.write_file") { args in
            let path = try args.string(0)
            let content = try args.string(1)
            let options = try Options(args[2], function: "runner.write_file", allowed: ["on", "mode"])
            try control.block {
                try await context.on(options.host).target.writeFile(path, contents: Array(content.utf8), mode: options.mode ?? 0o644)
            }
            return []
        }

        // HTTP through curl on the target.
        try state.register("runner.http.request") { args in
            guard let spec = args[0].mapValue else { throw LuaArgumentError("runner.http.request takes a table: { method, url, headers, json, body, timeout, on }") }
            let allowed = ["method", "url", "headers", "json", "body", "timeout", "on"]
            for key in spec.keys.sorted() where !allowed.contains(key) {
                throw LuaArgumentError("runner.http.request: unknown field '\(key)'\(Suggestion.hint(for: key, in: allowed))")
            }
            guard let url = spec["url"]?.stringValue, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw LuaArgumentError("runner.http.request needs url = 'http://...' or 'https://...'")
            }
            var headers = (spec["headers"]?.mapValue ?? [:]).mapValues(\.interpolated)
            var body = spec["body"]?.stringValue
            if let json = spec["json"] {
                body = JSON.encode(json)
                if !headers.keys.contains(where: { $0.lowercased() == "content-type" }) { headers["Content-Type"] = "application/json" }
            }
            let options = try Options(.map(spec.filter { $0.key == "on" || $0.key == "timeout" }), function: "runner.http.request", allowed: ["on", "timeout"])
            let request = HTTPRequest(method: spec["method"]?.stringValue ?? (body == nil ? "GET" : "POST"), url: url,
                                      headers: headers, body: body, timeout: options.timeout ?? .seconds(30))
            let command = try request.command
            let response = try control.block {
                try request.response(from: try await context.on(options.host).target.run(command) { _ in })
            }
            var out: [String: Value] = ["status": .int(response.status), "body": .string(response.body),
                                        "ok": .bool((200..<300).contains(response.status))]
            if let decoded = try? JSON.decode(response.body) { out["json"] = decoded }
            return [.map(out)]
        }

        // Data formats.
        try state.register("runner.json.encode") { args in [.string(JSON.encode(args[0]))] }
        try state.register("runner.json.decode") { args in [try JSON.decode(try args.string(0))] }
        try state.register("runner.yaml.encode") { args in [.string(YAMLEmitter.emit(args[0]))] }
        try state.register("runner.yaml.decode") { args in
            let text = try args.string(0)
            return [try YAMLParser.parse(Array(text.utf8), file: "yaml")?.value ?? .null]
        }

        // Shared code: require("name") loads lib/name.lua from a plugin directory, nothing else.
        try Self.installRequire(in: state, directories: self.moduleDirectories)

        // Time and secrets.
        try state.register("runner.sleep") { args in
            let seconds = try args.double(0)
            guard seconds >= 0, seconds <= 3600 else { throw LuaArgumentError("runner.sleep takes 0 to 3600 seconds") }
            try control.block { try await Task.sleep(for: .milliseconds(Int64(seconds * 1000))) }
            return []
        }
        try state.register("runner.secret") { args in
            let name = try args.string(0)
            guard let value = secrets[name] else {
                let known = secrets.isEmpty ? "the pipeline loads no secrets" : "loaded: \(secrets.keys.sorted().joined(separator: ", "))"
                throw LuaStepFailure(message: "no secret '\(name)' (\(known))")
            }
            return [value]
        }
    }

    static func installRequire(in state: LuaState, directories moduleDirectories: [String]) throws(LuaError) {
        try state.register("runner.__module_source") { args in
            let name = try args.string(0)
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }),
                  !name.hasPrefix("."), !name.contains("..") else {
                throw LuaStepFailure(message: "require: '\(name)' is not a module name (letters, digits, _ and . only)")
            }
            let relative = "lib/" + name.split(separator: ".").joined(separator: "/") + ".lua"
            for dir in moduleDirectories {
                let path = Paths.join(dir, relative)
                if let data = FileManager.default.contents(atPath: path) {
                    return [.string(String(decoding: data, as: UTF8.self)), .string(path)]
                }
            }
            let looked = moduleDirectories.map { Paths.join($0, relative) }.joined(separator: ", ")
            throw LuaStepFailure(message: "require: no module '\(name)' (looked for \(looked.isEmpty ? relative : looked))")
        }
        _ = try state.call(try state.compile(requirePrelude, chunkName: "runner prelude"))
    }

    /// `require` over `runner.__module_source`: each module runs once per state.
    static let requirePrelude = """
        local loaded = {}
        function require(name)
          if loaded[name] ~= nil then return loaded[name] end
          local code, path = runner.__module_source(name)
          local chunk, err = load(code, "@" .. path, "t")
          if not chunk then error(err, 0) end
          local value = chunk(name)
          if value == nil then value = true end
          loaded[name] = value
          return value
        end
        """

    /// Plugin directories whose `lib/` holds modules for `require`: the plugin's own first.
    var moduleDirectories: [String] {
        var dirs: [String] = []
        if case .plugin(let plugin, _) = body { dirs.append(Paths.directory(of: plugin.path)) }
        dirs += LuaPluginLoader.directories(pipelineDirectory: context.pipelineDirectory, environment: ProcessInfo.processInfo.environment)
        var seen = Set<String>()
        return dirs.filter { seen.insert($0).inserted }
    }

    /// The options table many functions take: `{ on = "hornbill", env = {...}, cwd = "/srv", timeout = 30 }`.
    struct Options {
        var host: String?
        var env: [String: String] = [:]
        var cwd: String?
        var timeout: Duration?
        var stdin: String?
        var mode: Int?
        var limit: Int?

        init(_ value: Value, function: String, allowed: [String]) throws {
            guard let map = value.mapValue else {
                if value.isNull { return }
                throw LuaArgumentError("\(function): options must be a table like { on = 'hornbill' }")
            }
            for key in map.keys.sorted() where !allowed.contains(key) {
                throw LuaArgumentError("\(function): unknown option '\(key)'\(Suggestion.hint(for: key, in: allowed)); options are \(allowed.joined(separator: ", "))")
            }
            host = map["on"]?.stringValue
            env = (map["env"]?.mapValue ?? [:]).mapValues(\.interpolated)
            cwd = map["cwd"]?.stringValue
            stdin = map["stdin"]?.stringValue
            limit = map["limit"]?.intValue
            if let t = map["timeout"] {
                if let seconds = t.doubleValue { timeout = .milliseconds(Int64(seconds * 1000)) }
                else if let text = t.stringValue, let d = DurationParser.parse(text) { timeout = d }
                else { throw LuaArgumentError("\(function): timeout must be seconds or a duration like '30s'") }
            }
            if let m = map["mode"] {
                if let i = m.intValue { mode = i }
                else if let text = m.stringValue, let i = Int(text, radix: 8) { mode = i }
                else { throw LuaArgumentError("\(function): mode must be a number or an octal string like '0600'") }
            }
        }
    }
}
