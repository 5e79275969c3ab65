/// Checks Lua syntax at load time, so a typo in an `if:` fails `runner validate`, not the run.
/// Implemented by RunnerLua; RunnerCore does not link Lua.
public protocol ScriptChecker: Sendable {
    /// nil when `expression` compiles as `return (<expression>)`.
    func check(expression: Expression) -> Diagnostic?
    /// nil when `code` compiles as a chunk.
    func check(chunk code: String, at location: SourceLocation) -> Diagnostic?
    /// The globals every expression and `lua:` step has besides the run's environment (Lua's
    /// libraries, `success()`, `json`…); nil turns the unknown-name check off.
    var standardNames: Set<String>? { get }
}

extension ScriptChecker {
    public var standardNames: Set<String>? { nil }
}
