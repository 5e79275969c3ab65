import Foundation
import RunnerCore
import Synchronization

/// One `lua:` step: a fresh sandboxed state on a dedicated thread, with the `runner` module.
///
/// The thread may block inside `runner.sh` while the command runs as a Swift task; it is not a
/// thread of the cooperative pool, so blocking it is harmless. Cancelling the step's task cancels
/// the command in flight and stops the Lua code at its next instruction-hook check.
struct LuaStep: Sendable {
    let code: String
    let location: SourceLocation
    let environment: [String: Value]
    let limits: LuaLimits
    let context: StepContext

    /// Shared between the Lua thread and the cancellation handler.
    final class Control: Sendable {
        private struct State {
            var canceller: LuaCanceller?
            var command: Task<Void, Never>?
            var cancelled = false
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
            let chunk = try state.compile(code, chunkName: location.description)
            results = try state.call(chunk)
        } catch {
            if control.isCancelled || error.kind == .cancelled { throw CancellationError() }
            let at = LuaRuntime.location(of: error, chunkStart: location)
            var frames = error.traceback.filter { !$0.contains("[C]") && !$0.contains("runner prelude") }
            if frames.count > 5 { frames = Array(frames.prefix(5)) }
            throw ScriptError(LuaRuntime.explain(error), at: at, traceback: frames)
        }
        switch results.first ?? .null {
        case .null: return StepResult()
        case .map(var outputs):
            let changed = outputs.removeValue(forKey: "changed")?.boolValue ?? false
            return StepResult(outputs: outputs, changed: changed)
        case let other:
            throw ScriptError("a lua step returns a table of outputs (or nothing), not a \(other.typeName)", at: location)
        }
    }

    /// The `runner` module.
    private func install(in state: LuaState, control: Control) throws(LuaError) {
        let context = self.context
        try state.setGlobal("runner", .map([:]))
        try state.register("runner.log") { args in
            context.log(args.values.map(\.interpolated).joined(separator: " "))
            return []
        }
        try state.register("runner.warn") { args in
            context.log(args.values.map(\.interpolated).joined(separator: " "), level: .warn)
            return []
        }
        try state.register("runner.fail") { args in
            throw LuaStepFailure(message: args.values.isEmpty ? "failed" : args[0].interpolated)
        }
        try state.register("runner.sh") { args in
            let command = try args.string(0)
            let result = try control.block { try await context.run(.shell(command)) }
            guard result.exitCode == 0 else {
                let how = result.signal.map { "killed by signal \($0)" } ?? "exit code \(result.exitCode ?? -1)"
                let tail = result.stderr.split(separator: "\n").suffix(5).joined(separator: "\n")
                throw LuaStepFailure(message: "command failed (\(how))" + (tail.isEmpty ? "" : ": \(tail)"))
            }
            return [.string(result.stdout)]
        }
        try state.register("runner.json.encode") { args in [.string(JSON.encode(args[0]))] }
        try state.register("runner.json.decode") { args in [try JSON.decode(try args.string(0))] }
    }
}

/// `runner.fail(msg)` and failed `runner.sh` calls: the message becomes the Lua error.
struct LuaStepFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
