import Foundation
import RunnerCore

/// Finds and loads Lua plugins, checking their schemas before anything runs.
public enum LuaPluginLoader {
    static let paramKeys = ["type", "required", "default", "doc", "secret"]
    static let topKeys = ["name", "description", "params", "outputs", "run"]

    /// Where plugins for a pipeline are looked for, in order: `plugins/` beside the pipeline,
    /// `plugins/` in the pipeline directory's parent (the repository layout `pipelines/` +
    /// `plugins/`), then each directory of `RUNNER_PLUGIN_PATH` (colon-separated).
    public static func directories(pipelineDirectory: String?, environment: [String: String]) -> [String] {
        var seen = Set<String>()
        return candidates(pipelineDirectory: pipelineDirectory, environment: environment).filter { dir in
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else { return false }
            return seen.insert(URL(fileURLWithPath: dir).standardizedFileURL.resolvingSymlinksInPath().path).inserted
        }
    }

    /// The same places, whether they exist or not (what an "unknown plugin" error names).
    public static func candidates(pipelineDirectory: String?, environment: [String: String]) -> [String] {
        var dirs: [String] = []
        if let dir = pipelineDirectory {
            dirs.append(Paths.join(dir, "plugins"))
            // The repository layout: pipelines/deploy.yml beside plugins/, however the pipeline
            // was named (`runner run deploy.yml` inside pipelines/ has the directory ".").
            if dir != "/" { dirs.append(Paths.join(parent(of: dir), "plugins")) }
        } else {
            dirs.append("plugins")
        }
        return dirs + (environment["RUNNER_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init)
    }

    /// The directory above `dir`: `pipelines` → `.`, `.` → `..`, `../x/..` → `../x/../..`.
    static func parent(of dir: String) -> String {
        let last = Paths.fileName(of: dir)
        return last == "." || last == ".." ? Paths.join(dir, "..") : Paths.directory(of: dir)
    }

    /// Every `*.lua` file in `directories`; two plugins with one name are an error naming both files.
    public static func discover(in directories: [String], limits: LuaLimits = LuaScripting().stepLimits) throws(InvalidInput) -> [LuaPlugin] {
        var plugins: [LuaPlugin] = []
        var problems: [Diagnostic] = []
        var byName: [String: String] = [:]
        for dir in directories {
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".lua") }.sorted()
            for file in files {
                let path = dir.hasSuffix("/") ? dir + file : dir + "/" + file
                do throws(InvalidInput) {
                    let plugin = try load(path: path, limits: limits)
                    if let other = byName[plugin.name] {
                        problems.append(Diagnostic("plugin '\(plugin.name)' is defined twice: \(other) and \(path)",
                                                   at: SourceLocation(file: path, line: 1, column: 1)))
                        continue
                    }
                    byName[plugin.name] = path
                    plugins.append(plugin)
                } catch {
                    problems += error.diagnostics
                }
            }
        }
        if !problems.isEmpty { throw InvalidInput(problems) }
        return plugins
    }

    /// Loads one plugin file and checks its schema; errors point into the file.
    public static func load(path: String, limits: LuaLimits = LuaScripting().stepLimits) throws(InvalidInput) -> LuaPlugin {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InvalidInput("\(path): cannot read plugin file")
        }
        let code = String(decoding: data, as: UTF8.self)
        let top = SourceLocation(file: path, line: 1, column: 1)
        let described: Value
        do throws(LuaError) {
            let state = try LuaState(limits: LuaLimits(instructions: 10_000_000, memoryBytes: 32 << 20, wallClock: .seconds(2)))
            try LuaRuntime.installHelpers(in: state)
            // Plugins may call runner functions inside run(); at load time only the table is read.
            try state.setGlobal("runner", .map([:]))
            try LuaStep.installRequire(in: state, directories: [Paths.directory(of: path)])
            described = try state.call(try state.compile(LuaPlugin.describeWrapper, chunkName: "runner plugin loader"), [.string(code), .string(path)]).first ?? .null
        } catch {
            let (message, line) = LuaPlugin.position(in: error, path: path)
            throw InvalidInput(message, at: SourceLocation(file: path, line: line ?? 1, column: 1))
        }
        guard let table = described.mapValue else {
            throw InvalidInput("a plugin file must return a table", at: top)
        }
        var problems: [Diagnostic] = []
        func at(_ word: String) -> SourceLocation { locate(word, in: code, file: path) ?? top }
        for key in table.keys.sorted() where !topKeys.contains(key) {
            problems.append(Diagnostic("unknown key '\(key)' in plugin\(Suggestion.hint(for: key, in: topKeys))", at: at(key)))
        }
        let name = table["name"]?.stringValue ?? ""
        if name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
            problems.append(Diagnostic("plugin needs a 'name' of letters, digits, _ or -", at: at("name")))
        }
        if table["run"]?.stringValue != "<function>" {
            problems.append(Diagnostic("plugin '\(name)' needs a 'run' function: run = function(with, ctx) ... end", at: at("run")))
        }
        var parameters: [ParameterSpec] = []
        switch table["params"] {
        case nil, .null?: break
        case .map(let params)?:
            for (param, spec) in params.sorted(by: { $0.key < $1.key }) {
                guard let fields = spec.mapValue else {
                    problems.append(Diagnostic("param '\(param)' must be a table like { type = \"string\", doc = \"...\" }", at: at(param)))
                    continue
                }
                for key in fields.keys.sorted() where !paramKeys.contains(key) {
                    problems.append(Diagnostic("unknown key '\(key)' in param '\(param)'\(Suggestion.hint(for: key, in: paramKeys))", at: at(key)))
                }
                let typeName = fields["type"]?.stringValue ?? "string"
                let type: ParameterType
                if let t = ParameterType(name: typeName) {
                    type = t
                } else if let options = fields["type"]?.listValue?.compactMap(\.stringValue), !options.isEmpty {
                    type = .oneOf(options)
                } else {
                    problems.append(Diagnostic("param '\(param)' has unknown type '\(typeName)' (string, int, bool, number, list, map, duration, any, or a list of allowed strings)", at: at(typeName)))
                    continue
                }
                let defaultValue = fields["default"]
                if let d = defaultValue, type.coerce(d) == nil {
                    problems.append(Diagnostic("default of param '\(param)' must be \(type), not \(d.typeName)", at: at(param)))
                }
                parameters.append(ParameterSpec(param, type, required: fields["required"]?.boolValue ?? false, default: defaultValue,
                                                secret: fields["secret"]?.boolValue ?? false, doc: fields["doc"]?.stringValue ?? ""))
            }
        case let other?:
            problems.append(Diagnostic("'params' must be a table of parameters, not \(other.typeName)", at: at("params")))
        }
        var outputs: [OutputSpec] = []
        if let declared = table["outputs"]?.mapValue {
            for (output, doc) in declared.sorted(by: { $0.key < $1.key }) {
                outputs.append(OutputSpec(output, .any, doc: doc.stringValue ?? doc.mapValue?["doc"]?.stringValue ?? ""))
            }
        }
        if !problems.isEmpty { throw InvalidInput(problems) }
        return LuaPlugin(name: name, summary: table["description"]?.stringValue ?? "", parameters: parameters, outputs: outputs,
                         path: path, code: code, limits: limits)
    }

    /// The first place `word` stands as a whole word in the file (for errors about table fields,
    /// which Lua does not give positions for).
    static func locate(_ word: String, in code: String, file: String) -> SourceLocation? {
        guard !word.isEmpty else { return nil }
        for (index, line) in code.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var search = line[...]
            while let range = search.range(of: word) {
                let before = range.lowerBound == line.startIndex ? " " : line[line.index(before: range.lowerBound)]
                let after = range.upperBound == line.endIndex ? " " : line[range.upperBound]
                if !(before.isLetter || before.isNumber || before == "_") && !(after.isLetter || after.isNumber || after == "_") {
                    return SourceLocation(file: file, line: index + 1, column: line.distance(from: line.startIndex, to: range.lowerBound) + 1)
                }
                search = line[range.upperBound...]
            }
        }
        return nil
    }
}
