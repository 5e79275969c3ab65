import Foundation

/// Runs pipelines: ordering, conditions, retries, timeouts, locks, cancellation, events.
///
/// ```swift
/// let engine = Engine(plugins: registry, scripting: LuaScripting(), stateDirectory: dir)
/// let outcome = await engine.run(pipeline, params: ["app": "phone"], sinks: [console])
/// exit(outcome.exitCode)
/// ```
public final class Engine: Sendable {
    public let plugins: PluginRegistry
    public let scripting: any Scripting
    public let targets: any TargetProvider
    /// Where lock files live (`<state dir>/locks`).
    public let lockDirectory: String
    /// The time limit of a step that sets none, so nothing can hang forever.
    public let defaultStepTimeout: Duration

    public init(plugins: PluginRegistry, scripting: any Scripting, targets: any TargetProvider = LocalTargets(),
                lockDirectory: String, defaultStepTimeout: Duration = .seconds(30 * 60)) {
        self.plugins = plugins
        self.scripting = scripting
        self.targets = targets
        self.lockDirectory = lockDirectory
        self.defaultStepTimeout = defaultStepTimeout
    }

    public struct Options: Sendable {
        public var runID: String
        public var trigger: String
        /// Fail at once instead of waiting when the `concurrency:` lock is held.
        public var noWait: Bool
        /// Extra read-only values for expressions (e.g. `payload` for webhook runs).
        public var context: [String: Value]
        /// `--limit`: steps with `on:` run only on these hosts (host or group names); steps whose
        /// hosts are all excluded are skipped. Local steps are not affected.
        public var limit: [String]?
        /// Where `secrets: - env:` values come from: the process environment unless given.
        public var environment: [String: String]?
        /// Past runs for `uses: history` and `runner.history`; nil (plans, tests without a
        /// store) makes them fail with "no run history available".
        public var history: (any RunHistory)?

        public init(runID: String, trigger: String = "cli", noWait: Bool = false, context: [String: Value] = [:],
                    limit: [String]? = nil, environment: [String: String]? = nil, history: (any RunHistory)? = nil) {
            self.runID = runID
            self.history = history
            self.trigger = trigger
            self.noWait = noWait
            self.context = context
            self.limit = limit
            self.environment = environment
        }
    }

    public struct Outcome: Sendable {
        public var runID: String
        public var status: RunStatus
        public var counts: StepCounts
        public var error: String?
        public var duration: Duration
        /// Why the run never started, when it did not: no step ran, not even `finally`, and a
        /// top-level run was not announced (no `run_started`, no summary, nothing stored).
        public var notStarted: NotStarted?

        /// 0 success, 1 failed, 2 could not start, 75 lock held (`--no-wait`), 130 cancelled.
        public var exitCode: Int32 {
            if let notStarted { return notStarted.exitCode }
            return switch status {
            case .succeeded: 0
            case .cancelled: 130
            case .failed, .running, .interrupted: 1
            }
        }
    }

    /// A run that could not start: its secrets, vars or lock key could not be had (exit 2, like
    /// any invalid input: nothing ran), or its lock was held and `--no-wait` given (exit 75,
    /// EX_TEMPFAIL of sysexits.h: nothing is wrong, try again later; a cron job or a script can
    /// tell "busy" from "broken" without reading the message).
    public enum NotStarted: Sendable, Hashable {
        case invalid
        case lockHeld

        public var exitCode: Int32 { self == .lockHeld ? 75 : 2 }
    }

    /// Runs a loaded pipeline with params already resolved by `ParamResolver`.
    /// Cancelling the calling task cancels running steps, then runs `finally` and returns `.cancelled`.
    public func run(_ pipeline: Pipeline, params: [String: Value], options: Options, sinks: [any EventSink]) async -> Outcome {
        let masker = SecretMasker()
        for spec in pipeline.params where spec.secret {
            if let v = params[spec.name] { masker.add(v) }
        }
        SecretParameterValues.register(pipeline, params: params, plugins: plugins, in: masker)
        let emitter = EventEmitter(runID: options.runID, masker: masker, sinks: sinks)
        defer { emitter.finish() }
        let outcome = await execute(pipeline, params: params, options: options, emitter: emitter, depth: 0, heldLocks: [],
                                    processes: RunProcesses(), chain: [PipelineLocator.identity(of: pipeline.file)])
        await targets.shutdown()
        return outcome
    }

    /// Runs `pipeline` as the top-level pipeline of a run (depth 0) or nested in one; `chain`
    /// names the pipeline files from the top-level one down to this one.
    func execute(_ pipeline: Pipeline, params: [String: Value], options: Options, emitter: EventEmitter,
                 depth: Int, heldLocks: Set<String>, processes: RunProcesses, chain: [String]) async -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        // A top-level run is announced once it can start (or once it waits for its lock): a run
        // that cannot start is one error line and exit 2 (or 75), not an empty summary.
        let announced = Flag()
        if depth > 0 { announced.set() }
        @Sendable func announce() {
            guard !announced.isSet else { return }
            announced.set()
            emitter.emit(.runStarted(pipeline: pipeline.name, file: pipeline.file, params: params, trigger: options.trigger))
        }
        func finish(_ status: RunStatus, _ error: String?, counts: StepCounts = StepCounts(), notStarted: NotStarted? = nil) -> Outcome {
            let duration = clock.now - start
            if depth == 0 && announced.isSet {
                emitter.emit(.runFinished(status: status, duration: duration, counts: counts, error: error))
            }
            return Outcome(runID: options.runID, status: status, counts: counts, error: error.map(emitter.masker.mask), duration: duration,
                           notStarted: notStarted)
        }

        let runtime: any ScriptRuntime
        do {
            runtime = try await makeRuntime(pipeline, params: params, options: options, masker: emitter.masker)
        } catch {
            return finish(.failed, "cannot start the expression engine: \(error)", notStarted: .invalid)
        }
        var held = heldLocks
        let limitHosts = Self.limitHosts(options.limit, in: pipeline)
        let inventorySecrets = InventorySecretsCache()
        func makeState() -> RunState {
            RunState(runID: options.runID, pipeline: pipeline, runtime: runtime, emitter: emitter, depth: depth,
                     heldLocks: held, limit: limitHosts, processes: processes, chain: chain, history: options.history,
                     inventorySecrets: inventorySecrets)
        }
        var state = makeState()

        // Secrets, vars and the lock come before any step: a failure here runs nothing (not even finally).
        var lock: RunLock?
        do {
            try await loadSecrets(pipeline, state: state, environment: options.environment ?? ProcessInfo.processInfo.environment)
            for (name, value) in pipeline.vars {
                try await runtime.set(["vars", name], try await resolve(value, locals: [:], state: state))
            }
            var env: [String: Value] = [:]
            for (name, value) in pipeline.env.sorted(by: { $0.key < $1.key }) {
                env[name] = .string(try await resolve(value, locals: [:], state: state).interpolated)
            }
            try await runtime.set(["env"], .map(env))
            try await checkBeforeFirstStep(state: state)
            if let template = pipeline.concurrency {
                let key = try await render(template, locals: [:], state: state)
                if let problem = RunLock.problem(withKey: key) { throw Diagnostic(problem, at: template.location) }
                if !held.contains(key) {
                    // No key here: it may hold a secret, and this text is written into the lock file.
                    let holder = "run \(options.runID) of \(pipeline.name) (pid \(getpid()), since \(Timestamp.iso8601(Date())))"
                    lock = try await RunLock.acquire(key: key, directory: lockDirectory, holder: holder, processes: processes,
                                                     wait: !options.noWait) { current in
                        announce()
                        emitter.emit(.lockWaiting(key: key, holder: current))
                    }
                    held.insert(key)
                    state = makeState()
                }
            }
        } catch is CancellationError {
            return finish(.cancelled, "cancelled before the first step")
        } catch let failure as RunLock.Failure {
            if case .held = failure { return finish(.failed, describe(failure), notStarted: .lockHeld) }
            return finish(.failed, describe(failure), notStarted: .invalid)
        } catch {
            return finish(.failed, describe(error), notStarted: .invalid)
        }
        announce()
        defer { lock?.release() }

        // Main steps, cancellable by the caller and by the pipeline timeout.
        let runState = state
        let timedOut = Flag()
        let main = Task { await self.runSequence(pipeline.steps, phase: nil, state: runState) }
        let watchdog: Task<Void, Never>? = pipeline.timeout.map { limit in
            Task {
                guard (try? await Task.sleep(for: limit)) != nil else { return }
                timedOut.set()
                main.cancel()
            }
        }
        await withTaskCancellationHandler { await main.value } onCancel: { main.cancel() }
        watchdog?.cancel()
        let wasTimedOut = timedOut.isSet
        let cancelled = main.isCancelled && !wasTimedOut
        var error: String?
        if wasTimedOut {
            runState.markFailed()
            error = "pipeline timed out after \(DurationParser.format(pipeline.timeout ?? .zero))"
            emitter.emit(.log(.error, error!))
        }
        let failedBeforeCleanup = runState.failed

        // on_failure and finally run in fresh tasks: a cancelled run still cleans up.
        // on_failure (a rollback) can itself be interrupted; finally still runs after it.
        var cancelledInCleanup = false
        if failedBeforeCleanup && !cancelled && !pipeline.onFailure.isEmpty {
            try? await runtime.set(["run", "status"], "failure")
            let onFailure = Task { await self.runSequence(pipeline.onFailure, phase: "on_failure", state: runState) }
            await withTaskCancellationHandler { await onFailure.value } onCancel: { onFailure.cancel() }
            cancelledInCleanup = onFailure.isCancelled
        }
        if !pipeline.finally.isEmpty {
            try? await runtime.set(["run", "status"], .string(cancelled || cancelledInCleanup ? "cancelled" : runState.failed ? "failure" : "success"))
            await Task { await self.runSequence(pipeline.finally, phase: "finally", state: runState) }.value
        }

        let status: RunStatus = cancelled || cancelledInCleanup ? .cancelled : (failedBeforeCleanup || runState.failed) ? .failed : .succeeded
        if status == .failed, error == nil {
            error = runState.firstFailedStep.map { "step '\($0)' failed" } ?? "a step failed"
        }
        if status == .cancelled { error = "cancelled" }
        if depth == 0 {
            // Nothing of the run outlives it: background processes and what left its process
            // groups are stopped here, before the run is reported finished.
            let stopped = await processes.stopLeftovers()
            if !stopped.isEmpty {
                emitter.emit(.log(.warn, "stopped \(stopped.count) process\(stopped.count == 1 ? "" : "es") the run left running: \(stopped.joined(separator: ", "))"))
            }
        }
        return finish(status, error, counts: runState.counts)
    }

    /// A script runtime with the run's read-only environment in place (steps, vars and secrets empty).
    func makeRuntime(_ pipeline: Pipeline, params: [String: Value], options: Options, masker: SecretMasker) async throws -> any ScriptRuntime {
        let runtime = try scripting.makeRuntime(masker: masker)
        try await runtime.set(["params"], .map(params))
        try await runtime.set(["run"], .map(["id": .string(options.runID), "pipeline": .string(pipeline.name),
                                             "trigger": .string(options.trigger), "status": "success"]))
        for name in ["steps", "vars", "secrets", "env"] { try await runtime.set([name], .map([:])) }
        for (key, value) in options.context { try await runtime.set([key], value) }
        return runtime
    }

    private func loadSecrets(_ pipeline: Pipeline, state: RunState, environment: [String: String]) async throws {
        var loaded: [String: Value] = [:]
        for source in pipeline.secrets {
            switch source {
            case .environment(let variable, let name, let location):
                guard let value = environment[variable] else {
                    throw Diagnostic("secret '\(name)': environment variable \(variable) is not set", at: location)
                }
                state.emitter.masker.add(value)
                loaded[name] = .string(value)
            case .sops(let path, let keyFile, let location):
                let full = path.hasPrefix("/") ? path : pipeline.directory + "/" + path
                loaded.merge(try await loadSOPS(full, shown: path, keyFile: keyFile, at: location, state: state)) { _, new in new }
            }
        }
        try await state.runtime.set(["secrets"], .map(loaded))
    }

    func makeContext(target: any Target, step: StepRef, environment: [String: String], workingDirectory: String?,
                     state: RunState, locals: [String: Value] = [:]) -> StepContext {
        StepContext(target: target, step: step, runID: state.runID, environment: environment,
                    workingDirectory: workingDirectory, pipelineDirectory: state.pipeline.directory,
                    emitter: state.emitter, engine: self, run: state, locals: locals)
    }

    /// A target by inventory name (`local` is this machine). The provider keeps one connection
    /// per host and checks it before handing it out, so each step gets a live one.
    func target(named name: String, run state: RunState) async throws -> any Target {
        if name == "local" { return LocalTarget(processes: state.processes) }
        guard let host = state.pipeline.inventory.hosts[name] else {
            throw StepFailure("unknown host '\(name)'\(Suggestion.hint(for: name, in: state.pipeline.inventory.hosts.keys))")
        }
        // The passphrase is needed to connect; the sudo password only by `sudo:` steps (below).
        let passphrase = host.isLocal ? nil : try await credential(host.identityPassphraseSecret, of: host, field: "identity_passphrase", run: state)
        let target = try await targets.target(for: host, credentials: HostCredentials(identityPassphrase: passphrase))
        // A host with `connection: local` is this machine: its commands belong to the run too.
        if let local = target as? LocalTarget, local.processes == nil {
            return LocalTarget(name: local.name, processes: state.processes)
        }
        return target
    }

    /// The step's target, wrapped in sudo when the step asks for it.
    func target(for step: Step, host name: String, run state: RunState) async throws -> any Target {
        let target = try await target(named: name, run: state)
        guard let user = step.sudo else { return target }
        var password: String? = nil
        if let host = state.pipeline.inventory.hosts[name] {
            password = try await credential(host.sudoPasswordSecret, of: host, field: "sudo_password", run: state)
        }
        return SudoTarget(base: target, user: user, password: password)
    }

    /// The hosts `--limit` lets steps run on: the names given, groups replaced by their members.
    static func limitHosts(_ names: [String]?, in pipeline: Pipeline) -> Set<String>? {
        names.map { names in Set(names.flatMap { pipeline.inventory.resolve($0) ?? [$0] }) }
    }

    func describe(_ error: any Error) -> String {
        switch error {
        case let e as StepFailure: e.message
        case let e as ScriptError: e.description
        case let e as Diagnostic: e.description
        case let e as InvalidInput: e.description
        case let e as TargetError: e.description
        case let e as RunLock.Failure: e.description
        case is CancellationError: "cancelled"
        default: String(describing: error)
        }
    }
}

import Synchronization
