import Foundation
import RunnerCore
import RunnerLua
import RunnerPlugins
import RunnerSSH

/// What every command needs, assembled once: plugins, Lua, the loader, the state directory.
struct Toolbox {
    let environment = ProcessInfo.processInfo.environment
    let plugins: PluginRegistry
    let scripting: LuaScripting

    /// Built-in plugins plus the Lua plugins found for a pipeline in `pipelineDirectory`
    /// (or in ./plugins and `RUNNER_PLUGIN_PATH` when there is none).
    init(pipelineDirectory: String? = nil) throws {
        var registry = try PluginRegistry(RunnerPlugins.all)
        let directories = LuaPluginLoader.directories(pipelineDirectory: pipelineDirectory, environment: environment)
        for plugin in try LuaPluginLoader.discover(in: directories) { try registry.register(plugin) }
        registry.searched = LuaPluginLoader.candidates(pipelineDirectory: pipelineDirectory, environment: environment)
        plugins = registry
        scripting = LuaScripting()
    }

    /// The toolbox for the pipeline `reference` names (with the plugins beside it), and its path.
    static func locating(_ reference: String) throws -> (Toolbox, String) {
        let path = try locate(reference)
        return (try Toolbox(pipelineDirectory: Paths.directory(of: path)), path)
    }

    func loader(inventory: String? = nil) -> PipelineLoader {
        PipelineLoader(plugins: plugins, checker: scripting, inventoryOverride: inventory)
    }

    var stateDirectory: String { RunStore.defaultDirectory(environment: environment) }

    /// Finds a pipeline by path or file name (`deploy` → `pipelines/deploy.yml`), or fails with
    /// exit 2, suggesting a close file name, or the file when `reference` is a pipeline's `name:`.
    static func locate(_ reference: String) throws -> String {
        guard let path = PipelineLocator.locate(reference) else {
            let looked = PipelineLocator.candidates(reference, relativeTo: ".").joined(separator: ", ")
            let names = PipelineLocator.names(in: [".", "pipelines"])
            var hint = Suggestion.hint(for: PipelineLocator.stem(of: reference), in: names)
            if let file = fileNamed(reference, among: names) {
                hint = " (\(file) has name: \(reference); pipelines are called by their file name: '\(Paths.fileName(of: file).split(separator: ".").dropLast().joined(separator: "."))')"
            }
            throw InvalidInput("no pipeline '\(reference)'\(hint) (looked for \(looked))")
        }
        return path
    }

    /// The pipeline file among `names` (in ./ or pipelines/) whose `name:` is `name`.
    private static func fileNamed(_ name: String, among names: [String]) -> String? {
        for candidate in names {
            guard let path = PipelineLocator.locate(candidate), let toolbox = try? Toolbox(pipelineDirectory: Paths.directory(of: path)),
                  let pipeline = try? toolbox.loader().load(path: path) else { continue }
            if pipeline.name == name { return path }
        }
        return nil
    }

    /// The pipeline and its params checked, or exit 2 naming the problem.
    func load(path: String, params: [String], inventory: String?) throws -> (Pipeline, [String: Value]) {
        let pipeline = try loader(inventory: inventory).load(path: path)
        return (pipeline, try ParamResolver.resolve(try Toolbox.parseAssignments(params), for: pipeline))
    }

    func plan(_ pipeline: Pipeline, params: [String: Value], limit: [String]? = nil) async -> String {
        await Planner(engine: engine(), pipeline: pipeline, params: params, limit: limit).plan().text()
    }

    /// `app=phone ref=main` → params; a word without `=` is invalid input.
    static func parseAssignments(_ words: [String]) throws -> [String: Value] {
        var out: [String: Value] = [:]
        for word in words {
            guard let (key, value) = ParamResolver.split(word) else {
                throw InvalidInput("'\(word)' is not a param: write key=value (e.g. app=phone)")
            }
            if out[key] != nil { throw InvalidInput("param '\(key)' is given twice") }
            out[key] = .string(value)
        }
        return out
    }
}

extension Toolbox {
    func engine() -> Engine {
        Engine(plugins: plugins, scripting: scripting, targets: SSHTargets(), lockDirectory: stateDirectory + "/locks")
    }
}
