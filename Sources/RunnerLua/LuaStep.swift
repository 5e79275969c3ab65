import Foundation
import RunnerCore
import Synchronization

/// One `lua:` step: a fresh sandboxed state on a dedicated thread, with the `runner` module.
///
/// The thread may block inside `runner.sh` while the command runs as a Swift task; it is not a
/// thread of the cooperative pool, so blocking it is harmless. Cancelling the step's task cancels
/// the command in flight and stops the Lua code at its next instruction-hook check.
struct LuaStep: Sendable {
    /// What the state runs.
    enum Body: Sendable {
        /// A `lua:` step's code, written at `location` in the pipeline.
        case chunk(code: String, location: SourceLocation)
        /// A Lua plugin's `run(with, ctx)`.
        case plugin(LuaPlugin, with: [String: Value])
    }

    let body: Body
    let environment: [String: Value]
    let limits: LuaLimits
    let context: StepContext

    init(code: String, location: SourceLocation, environment: [String: Value], limits: LuaLimits, context: StepContext) {
        self.init(body: .chunk(code: code, location: location), environment: environment, limits: limits, context: context)
    }

    init(body: Body, environment: [String: Value], limits: LuaLimits, context: StepContext) {
        self.body = body
        self.environment = environment
        self.limits = limits
        self.context = context
    }

    /// Shared between the Lua thread and the cancellation handler.
    final class Control: Sendable {
        private struct State {
            var canceller: LuaCanceller?
            var command: Task<Void, Never>?
            var cancelled = false
            var failure: String?
        }
        private let state = Mutex(State())

        func attach(_ canceller: LuaCanceller) {
            let cancelled = state.withLock { s in
                s.canceller = canceller
                return s.cancelled
            }
            if cancelled { canceller.cancel() }
        }

        /// Runs `operation` as a task and blocks this (non-pool) thread until it finishes.
        func block<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) throws -> T {
            let result = Mutex<Result<T, any Error>?>(nil)
            let done = DispatchSemaphore(value: 0)
            let task = Task {
                let r: Result<T, any Error>
                do { r = .success(try await operation()) } catch { r = .failure(error) }
                result.withLock { $0 = r }
                done.signal()
            }
            let cancelled = state.withLock { s in
                s.command = task
                return s.cancelled
            }
            if cancelled { task.cancel() }
            done.wait()
            state.withLock { $0.command = nil }
            return try result.withLock { $0! }.get()
        }

        func cancel() {
            let (canceller, command) = state.withLock { s in
                s.cancelled = true
                return (s.canceller, s.command)
            }
            canceller?.cancel()
            command?.cancel()
        }

        var isCancelled: Bool { state.withLock { $0.cancelled } }

        /// The message of the last `runner.fail`: a deliberate failure, reported without a traceback.
        var failure: String? {
            get { state.withLock { $0.failure } }
            set { state.withLock { $0.failure = newValue } }
        }
    }

    func run() async throws -> StepResult {
        let control = Control()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<StepResult, any Error>) in
                let thread = Thread {
                    do {
                        continuation.resume(returning: try execute(control))
                    } catch {
                        continuation.resume(throwing: error)
                    }
                }
                thread.stackSize = 8 << 20
                thread.name = "lua step"
                thread.start()
            }
        } onCancel: {
            control.cancel()
        }
    }

    /// Runs on the step's thread.
    private func execute(_ control: Control) throws -> StepResult {
        let results: [Value]
        do throws(LuaError) {
            let state = try LuaState(limits: limits)
            control.attach(state.canceller)
            try LuaRuntime.installHelpers(in: state)
            for (name, value) in environment { try state.setGlobal(name, value) }
            try install(in: state, control: control)
            switch body {
            case .chunk(let code, let location):
                results = try state.call(try state.compile(code, chunkName: location.description))
            case .plugin(let plugin, let with):
                let ctx: Value = .map([
                    "step": .string(context.step.name), "host": context.step.host.map(Value.string) ?? .null,
                    "run_id": .string(context.runID), "dir": .string(context.pipelineDirectory),
                ])
                let call = try state.compile(LuaPlugin.runWrapper, chunkName: "runner plugin call")
                results = try state.call(call, [.string(plugin.code), .string(plugin.path), .map(with), ctx])
            }
        } catch {
            if control.isCancelled || error.kind == .cancelled { throw CancellationError() }
            // runner.fail("…") is the script's own verdict: its message where it was called, no traceback.
            let deliberate = error.kind == .runtime
                && control.failure.map { error.message == $0 || error.message.hasSuffix(": " + $0) } == true
            throw scriptError(error, traceback: !deliberate)
        }
        let what = if case .plugin(let plugin, _) = body { "plugin '\(plugin.name)'" } else { "a lua step" }
        switch results.first ?? .null {
        case .null: return StepResult()
        case .map(var outputs):
            let changed = outputs.removeValue(forKey: "changed")?.boolValue ?? false
            return StepResult(outputs: outputs, changed: changed)
        case let other:
            throw ScriptError("\(what) returns a table of outputs (or nothing), not a \(other.typeName)", at: origin)
        }
    }

    /// Where the code came from: the pipeline position of a `lua:` step, line 1 of a plugin file.
    private var origin: SourceLocation {
        switch body {
        case .chunk(_, let location): location
        case .plugin(let plugin, _): SourceLocation(file: plugin.path, line: 1, column: 1)
        }
    }

    /// The error at its position in the pipeline or the plugin file, with a short traceback of
    /// the user's own frames.
    private func scriptError(_ error: LuaError, traceback: Bool = true) -> ScriptError {
        switch body {
        case .chunk(_, let location):
            var frames = error.traceback.filter { traceback && !$0.contains("[C]") && !$0.contains("runner prelude") }
            if frames.count > 5 { frames = Array(frames.prefix(5)) }
            return ScriptError(LuaRuntime.explain(error), at: LuaRuntime.location(of: error, chunkStart: location), traceback: frames)
        case .plugin(let plugin, _):
            let (message, line) = LuaPlugin.position(in: error, path: plugin.path)
            var frames = error.traceback.filter { traceback && $0.hasPrefix(plugin.path + ":") }
            if frames.count > 5 { frames = Array(frames.prefix(5)) }
            let text = error.kind == .runtime || error.kind == .syntax ? message : LuaRuntime.explain(error)
            return ScriptError(text, at: SourceLocation(file: plugin.path, line: line ?? 1, column: 1), traceback: frames)
        }
    }
}

/// `runner.fail(msg)` and failed `runner.sh` calls: the message becomes the Lua error.
struct LuaStepFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
