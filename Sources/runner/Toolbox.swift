import Foundation
import RunnerCore
import RunnerLua

/// What every command needs, assembled once: plugins, Lua, the loader, the state directory.
struct Toolbox {
    let environment = ProcessInfo.processInfo.environment
    let plugins: PluginRegistry
    let scripting: LuaScripting

    init() throws {
        plugins = try PluginRegistry(BuiltinPlugins.all)
        scripting = LuaScripting()
    }

    func loader(inventory: String? = nil) -> PipelineLoader {
        PipelineLoader(plugins: plugins, checker: scripting, inventoryOverride: inventory)
    }

    var stateDirectory: String { RunStore.defaultDirectory(environment: environment) }

    /// Finds a pipeline by path or name (`deploy` → `pipelines/deploy.yml`), or fails with exit 2.
    func locate(_ reference: String) throws -> String {
        guard let path = PipelineLocator.locate(reference) else {
            let looked = PipelineLocator.candidates(reference, relativeTo: ".").joined(separator: ", ")
            throw InvalidInput("no pipeline '\(reference)' (looked for \(looked))")
        }
        return path
    }

    func load(_ reference: String, inventory: String? = nil) throws -> Pipeline {
        try loader(inventory: inventory).load(path: try locate(reference))
    }

    /// The pipeline and its params checked, or exit 2 naming the problem.
    func load(_ reference: String, params: [String], inventory: String?) throws -> (Pipeline, [String: Value]) {
        let pipeline = try load(reference, inventory: inventory)
        return (pipeline, try ParamResolver.resolve(try Toolbox.parseAssignments(params), for: pipeline))
    }

    func plan(_ pipeline: Pipeline, params: [String: Value]) async -> String {
        await Planner(engine: engine(), pipeline: pipeline, params: params).plan().text()
    }

    func openStore() throws -> RunStore {
        do { return try RunStore(directory: stateDirectory) } catch {
            throw InvalidInput("\(error) (set RUNNER_STATE_DIR to use another directory)")
        }
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
        Engine(plugins: plugins, scripting: scripting, lockDirectory: stateDirectory + "/locks")
    }
}
