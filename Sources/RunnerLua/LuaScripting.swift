import RunnerCore

/// Lua 5.4 behind `${{ }}`, `if:` and `lua:` steps: the `Scripting` the engine uses.
///
/// Expressions of one run share one sandboxed state (inside a `LuaRuntime` actor); every `lua:`
/// step gets a fresh state on its own thread, so a step may block in `runner.sh` without holding
/// up expressions of parallel steps.
public struct LuaScripting: Scripting {
    /// Limits for one expression.
    public var expressionLimits: LuaLimits
    /// Limits for one `lua:` step. No wall clock: time waiting for commands does not count, and
    /// the step's `timeout` bounds the whole step.
    public var stepLimits: LuaLimits

    public init(expressionLimits: LuaLimits = LuaLimits(instructions: 50_000_000, memoryBytes: 64 << 20, wallClock: .seconds(2)),
                stepLimits: LuaLimits = LuaLimits(instructions: 100_000_000, memoryBytes: 64 << 20, wallClock: nil)) {
        self.expressionLimits = expressionLimits
        self.stepLimits = stepLimits
    }

    public func check(expression: Expression) -> Diagnostic? {
        guard let error = LuaState.checkSyntax(LuaRuntime.wrap(expression.source), chunkName: expression.location.description) else {
            return nil
        }
        return Diagnostic("Lua expression '\(expression.source)': \(error.message)",
                          at: LuaRuntime.location(of: error, in: expression))
    }

    public func check(chunk code: String, at location: SourceLocation) -> Diagnostic? {
        guard var error = LuaState.checkSyntax(code, chunkName: location.description) else { return nil }
        // "<eof>" is one line past a chunk that ends with a line break: point at its last line.
        let lines = max(1, code.split(separator: "\n", omittingEmptySubsequences: false).count - (code.hasSuffix("\n") ? 1 : 0))
        if let line = error.line, line > lines { error.line = lines }
        let message = LuaRuntime.fileLines(in: error.message, chunkStart: location)
        return Diagnostic("Lua: \(message)", at: LuaRuntime.location(of: error, chunkStart: location))
    }

    public var standardNames: Set<String>? { Self.sandboxNames }

    /// The globals of a sandboxed state with the helpers installed, read once from a real state
    /// so the list cannot drift from what the sandbox offers.
    static let sandboxNames: Set<String>? = {
        guard let state = try? LuaState(limits: .default), (try? LuaRuntime.installHelpers(in: state)) != nil,
              let chunk = try? state.compile("local n = {} for k in pairs(_ENV) do n[#n + 1] = k end return n", chunkName: "names"),
              let names = (try? state.call(chunk))?.first?.listValue else { return nil }
        return Set(names.compactMap(\.stringValue))
    }()

    public func makeRuntime(masker: SecretMasker) throws -> any ScriptRuntime {
        try LuaRuntime(limits: expressionLimits, stepLimits: stepLimits)
    }
}

/// One run's expression state.
actor LuaRuntime: ScriptRuntime {
    private let state: LuaState
    private let stepLimits: LuaLimits
    /// The environment as Swift values (the source of truth; Lua holds read-only copies).
    private var globals: [String: Value] = [:]
    private var chunks: [Expression: LuaChunk] = [:]
    private static let localNames = ["item", "host", "env"]

    init(limits: LuaLimits, stepLimits: LuaLimits) throws {
        state = try LuaState(limits: limits)
        self.stepLimits = stepLimits
        try LuaRuntime.installHelpers(in: state)
        // Expressions read the environment; none may change it for the next one.
        try state.seal()
    }

    /// Compiles as `return (<expression>)`, on separate lines so a trailing `--` comment is harmless.
    static func wrap(_ source: String) -> String { "return (\n\(source)\n)" }

    /// The pipeline position of an expression's error (the wrapper adds one line before it).
    static func location(of error: LuaError, in expression: Expression) -> SourceLocation {
        let lines = expression.source.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
        guard let line = error.line, line > 2, line <= lines + 1 else { return expression.location }
        var at = expression.location
        at.line += line - 2
        at.column = 1
        return at
    }

    /// The pipeline position of a chunk's error: chunk line 1 is `chunkStart`'s line.
    static func location(of error: LuaError, chunkStart: SourceLocation) -> SourceLocation {
        guard let line = error.line else { return chunkStart }
        return SourceLocation(file: chunkStart.file, line: chunkStart.line + line - 1, column: line == 1 ? chunkStart.column : 1)
    }

    /// Lua's "(to close 'if' at line 2)" counts lines of the chunk; the pipeline's are meant.
    static func fileLines(in message: String, chunkStart: SourceLocation) -> String {
        guard let range = message.range(of: "' at line "), message.contains("(to close '") else { return message }
        let digits = message[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
        guard let line = Int(digits) else { return message }
        return message.replacingCharacters(in: range.upperBound..<digits.endIndex, with: String(chunkStart.line + line - 1))
    }

    /// `success()`, `failure()`, `always()`, `cancelled()` and `json` for expressions and steps.
    static func installHelpers(in state: LuaState) throws(LuaError) {
        let prelude = """
            function success() return run == nil or run.status == "success" end
            function failure() return run ~= nil and run.status == "failure" end
            function cancelled() return run ~= nil and run.status == "cancelled" end
            function always() return true end
            """
        _ = try state.call(try state.compile(prelude, chunkName: "runner prelude"))
        try state.register("json.encode") { args in [.string(JSON.encode(args[0]))] }
        try state.register("json.decode") { args in [try JSON.decode(try args.string(0))] }
    }

    func set(_ path: [String], _ value: Value) throws {
        guard let top = path.first else { return }
        if path.count == 1 {
            globals[top] = value
        } else {
            globals[top] = Self.setting(globals[top] ?? .map([:]), at: path.dropFirst(), to: value)
        }
        try state.setGlobal(top, globals[top] ?? .null)
    }

    private static func setting(_ base: Value, at path: ArraySlice<String>, to value: Value) -> Value {
        guard let key = path.first else { return value }
        var map = base.mapValue ?? [:]
        map[key] = setting(map[key] ?? .map([:]), at: path.dropFirst(), to: value)
        return .map(map)
    }

    func evaluate(_ expression: Expression, locals: [String: Value]) throws -> Value {
        do throws(LuaError) {
            // `env` outside a step's own evaluation is the pipeline's env (as in `if:` and `for_each`).
            for name in Self.localNames { try state.setGlobal(name, locals[name] ?? (name == "env" ? globals["env"] ?? .null : .null)) }
            let chunk: LuaChunk
            if let cached = chunks[expression] {
                chunk = cached
            } else {
                chunk = try state.compile(Self.wrap(expression.source), chunkName: expression.location.description)
                chunks[expression] = chunk
            }
            return try state.call(chunk).first ?? .null
        } catch {
            throw ScriptError("expression '\(expression.source)': \(Self.explain(error))", at: Self.location(of: error, in: expression))
        }
    }

    /// Messages for limits say which limit and what to do.
    static func explain(_ error: LuaError) -> String {
        switch error.kind {
        case .instructionLimit: "stopped: instruction limit reached (an endless loop?)"
        case .memoryLimit: "stopped: memory limit reached (\(error.message))"
        case .timeout: "stopped: time limit reached (an endless loop?)"
        case .cancelled: "cancelled"
        case .syntax, .runtime: error.message
        }
    }

    func snapshot() -> [String: Value] { globals }

    nonisolated func runStep(code: String, at location: SourceLocation, locals: [String: Value], context: StepContext) async throws -> StepResult {
        let environment = await globals.merging(locals) { _, local in local }
        return try await LuaStep(code: code, location: location, environment: environment, limits: stepLimits, context: context).run()
    }
}
