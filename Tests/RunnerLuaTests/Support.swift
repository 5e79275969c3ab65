import Foundation
import RunnerCore
import RunnerLua
import Testing

/// Compiles and runs `source` in a fresh state (or `state`).
func run(
    _ source: String, _ args: [Value] = [], in state: LuaState? = nil, limits: LuaLimits = .default,
    chunkName: String = "test.lua"
) throws(LuaError) -> [Value] {
    let state = if let state { state } else { try LuaState(limits: limits) }
    return try state.call(state.compile(source, chunkName: chunkName), args)
}

/// The single result of `source`.
func evaluate(_ source: String, in state: LuaState? = nil) throws(LuaError) -> Value {
    try run(source, in: state).first ?? .null
}

/// The `LuaError` that `body` throws, or nil. Any other error fails the test.
func failure(_ body: () throws -> Void) -> LuaError? {
    do {
        try body()
        return nil
    } catch let error as LuaError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// The error running `source` throws, or nil.
func failure(running source: String, in state: LuaState? = nil, limits: LuaLimits = .default, chunkName: String = "test.lua")
    -> LuaError?
{
    failure { _ = try run(source, in: state, limits: limits, chunkName: chunkName) }
}

/// Cancels through `canceller` after `delay` seconds, from a plain thread (the global dispatch
/// queues may all be busy running other tests).
func cancel(_ canceller: LuaCanceller, after delay: TimeInterval) {
    Thread.detachNewThread {
        Thread.sleep(forTimeInterval: delay)
        canceller.cancel()
    }
}
