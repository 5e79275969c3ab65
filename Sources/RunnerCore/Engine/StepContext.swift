/// What a plugin or a Lua step gets besides its parameters: where to run, how to log, the run around it.
public struct StepContext: Sendable {
    /// Where the step runs (local, or the host in `on:`).
    public private(set) var target: any Target
    public let step: StepRef
    public let runID: String
    /// The step's rendered `env:` (pipeline env included) for commands it runs.
    public let environment: [String: String]
    public let workingDirectory: String?
    /// The directory of the pipeline file, for relative paths.
    public let pipelineDirectory: String
    let emitter: EventEmitter
    let engine: Engine
    let run: RunState
    let locals: [String: Value]

    /// The run's read-only expression environment (`params`, `vars`, `secrets`, `steps`, `run`,
    /// and this step's `item`, `host` and `env`), for plugins that evaluate user code.
    public func scope() async -> [String: Value] {
        (await run.runtime.snapshot()).merging(locals) { _, local in local }
    }

    /// Logs a message for this step (masked).
    public func log(_ message: String, level: LogLevel = .info) {
        emitter.emit(step: step, .log(level, message))
    }

    /// Adds a value to the secret masker (e.g. values a plugin loaded).
    public func registerSecret(_ value: String) { emitter.masker.add(value) }

    public var masker: SecretMasker { emitter.masker }

    /// Runs a command on the step's target with its environment and working directory,
    /// streaming output lines into the run log.
    public func run(_ executable: Executable, stdin: [UInt8]? = nil, environment extra: [String: String] = [:],
                    workingDirectory: String? = nil, timeout: Duration? = nil) async throws -> CommandResult {
        let command = Command(executable, environment: environment.merging(extra) { _, new in new },
                              workingDirectory: workingDirectory ?? self.workingDirectory, stdin: stdin, timeout: timeout)
        return try await run(command)
    }

    public func run(_ command: Command) async throws -> CommandResult {
        let output = emitter.outputStream(step: step)
        defer { output.finish() }
        return try await target.run(command) { line in output.accept(line) }
    }

    /// The target for another host of the inventory (`local` for this machine).
    public func target(for host: String) async throws -> any Target {
        try await engine.target(named: host, run: run)
    }

    /// Runs a plugin (Swift or Lua) by name with this step's target and context; the parameters
    /// are checked against its schema first.
    public func runPlugin(_ name: String, _ params: [String: Value]) async throws -> StepResult {
        guard let plugin = engine.plugins[name] else {
            throw StepFailure(engine.plugins.unknown(name))
        }
        for spec in plugin.parameters where spec.secret {
            if let v = params[spec.name] { emitter.masker.add(v) }
        }
        return try await plugin.run(try engine.plugins.bind(params, for: plugin), context: self)
    }

    /// This context with another target (for `on =` options of Lua functions).
    public func on(_ host: String?) async throws -> StepContext {
        guard let host else { return self }
        var copy = self
        copy.target = try await target(for: host)
        return copy
    }

    /// Past runs of pipelines, or `NoRunHistory` when the engine was given none (plans).
    public func history() throws -> any RunHistory {
        guard let history = run.history else { throw NoRunHistory() }
        return history
    }

    /// Runs another pipeline (by name or path, relative to this one) and returns its result.
    public func runPipeline(_ reference: String, params: [String: Value]) async throws -> StepResult {
        try await engine.runNested(reference, params: params, parent: run, step: step)
    }
}
