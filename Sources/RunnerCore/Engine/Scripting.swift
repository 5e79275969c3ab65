/// The embedded language behind `${{ }}`, `if:` and `lua:` (Lua 5.4, implemented by RunnerLua).
public protocol Scripting: ScriptChecker {
    /// A fresh evaluator for one run. `masker` must be applied to anything a script logs.
    func makeRuntime(masker: SecretMasker) throws -> any ScriptRuntime
}

/// One run's expression state: the read-only environment (`params`, `vars`, `secrets`, `steps`, `run`)
/// and compiled expressions.
public protocol ScriptRuntime: Sendable {
    /// Sets a value visible to expressions at a path, e.g. `["vars", "dir"]` or `["steps", "pull"]`.
    func set(_ path: [String], _ value: Value) async throws

    /// Evaluates one expression; `locals` (`item`, `host`, `env`) are visible for this evaluation only.
    func evaluate(_ expression: Expression, locals: [String: Value]) async throws -> Value

    /// The environment as it stands (what `set` has built).
    func snapshot() async -> [String: Value]

    /// Runs the code of a `lua:` step with the `runner` module; returns its outputs.
    func runStep(code: String, at location: SourceLocation, locals: [String: Value], context: StepContext) async throws -> StepResult
}

/// An expression or Lua step failed: bad field access, `error()`, a limit hit.
public struct ScriptError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var location: SourceLocation?
    /// Lua frames, innermost first, already limited in length.
    public var traceback: [String]

    public init(_ message: String, at location: SourceLocation? = nil, traceback: [String] = []) {
        self.message = message
        self.location = location
        self.traceback = traceback
    }

    public var description: String {
        let head = (location.map { "\($0): " } ?? "") + message
        guard !traceback.isEmpty else { return head }
        return head + "\ntraceback:\n" + traceback.map { "  \($0)" }.joined(separator: "\n")
    }
}
