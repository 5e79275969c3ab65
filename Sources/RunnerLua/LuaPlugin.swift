import Foundation
import RunnerCore

/// A step plugin written in Lua: `plugins/<name>.lua` returning its schema and a `run` function.
///
/// ```lua
/// return {
///   name = "greet",
///   description = "Say hello on the step's host",
///   params = { who = { type = "string", required = true, doc = "Whom to greet" } },
///   run = function(with, ctx)
///     return { said = runner.exec("echo hello " .. with.who).stdout }
///   end,
/// }
/// ```
public struct LuaPlugin: StepPlugin {
    public let name: String
    public let summary: String
    public let parameters: [ParameterSpec]
    public let outputs: [OutputSpec]
    /// The plugin file.
    public let path: String
    let code: String
    let limits: LuaLimits

    public var source: String? { path }

    public func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
        let environment = await context.scope()
        return try await LuaStep(body: .plugin(self, with: with), environment: environment, limits: limits, context: context).run()
    }

    /// Loads the plugin file (given as text and path), calls `run(with, ctx)` and returns its result.
    static let runWrapper = """
        local code, path, with, ctx = ...
        local plugin = load(code, "@" .. path, "t")()
        return plugin.run(with, ctx)
        """

    /// Loads the plugin file and returns its schema with functions replaced by markers.
    static let describeWrapper = """
        local code, path = ...
        local chunk, err = load(code, "@" .. path, "t")
        if not chunk then error(err, 0) end
        local plugin = chunk()
        if type(plugin) ~= "table" then
          error(path .. ":1: a plugin file must return a table (name, description, params, run), not " .. type(plugin), 0)
        end
        local described = {}
        for k, v in pairs(plugin) do
          if type(v) == "function" then described[k] = "<function>" else described[k] = v end
        end
        return described
        """

    /// Splits `path:12: message` into the message and the line.
    static func position(in error: LuaError, path: String) -> (message: String, line: Int?) {
        var text = error.message
        if let chunk = error.chunkName, chunk == path || chunk == "@" + path, let line = error.line {
            return (text, line)
        }
        for prefix in [path + ":", "@" + path + ":"] where text.hasPrefix(prefix) {
            text.removeFirst(prefix.count)
            let digits = text.prefix { $0.isNumber }
            if let line = Int(digits), text.dropFirst(digits.count).hasPrefix(": ") {
                return (String(text.dropFirst(digits.count + 2)), line)
            }
        }
        return (error.message, error.line)
    }
}
