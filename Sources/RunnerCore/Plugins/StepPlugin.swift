/// A step kind usable as `uses: <name>`: built in Swift, or loaded from a Lua file.
///
/// ```swift
/// struct Greet: StepPlugin {
///     let name = "greet"
///     let summary = "Says hello on the target"
///     let parameters = [ParameterSpec("who", .string, required: true, doc: "Whom to greet")]
///     func run(_ with: [String: Value], context: StepContext) async throws -> StepResult {
///         let result = try await context.run(.argv(["echo", "hello", with["who"]!.interpolated]))
///         return StepResult(outputs: ["said": .string(result.stdout)])
///     }
/// }
/// ```
public protocol StepPlugin: Sendable {
    var name: String { get }
    /// One line for `runner plugins`.
    var summary: String { get }
    var parameters: [ParameterSpec] { get }
    var outputs: [OutputSpec] { get }
    /// Where the plugin is defined: nil for built-ins, the `.lua` file for Lua plugins.
    var source: String? { get }
    /// Groups of parameters of which a step gives exactly one (`password` or `password_file`).
    var alternatives: [[String]] { get }

    /// What a step without `name:` or `id:` is called (console, summary, run store): its action,
    /// from `with:` as written, like `docker compose up` or `ssh upload app.json`. Default: `name`.
    func label(_ with: StepLabel) -> String

    /// Runs with parameters already validated against `parameters` (defaults filled in).
    /// Throw `StepFailure` for a failure users should read; any other error is reported by its description.
    func run(_ with: [String: Value], context: StepContext) async throws -> StepResult
}

extension StepPlugin {
    public var outputs: [OutputSpec] { [] }
    public var source: String? { nil }
    public var alternatives: [[String]] { [] }
    public func label(_ with: StepLabel) -> String { name }
}

/// What a step produced.
public struct StepResult: Sendable {
    public var outputs: [String: Value]
    /// Whether the step changed anything on the target (counted as "changed" in the summary).
    public var changed: Bool

    public init(outputs: [String: Value] = [:], changed: Bool = false) {
        self.outputs = outputs
        self.changed = changed
    }
}

/// A step failed for a reason the user should read; `outputs` are still recorded.
public struct StepFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var outputs: [String: Value]

    public init(_ message: String, outputs: [String: Value] = [:]) {
        self.message = message
        self.outputs = outputs
    }

    public var description: String { message }
}
