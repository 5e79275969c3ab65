import CLua

/// Owns the C control block of one `LuaState`: allocator accounting, limits, the cancel flag and
/// the way back to Swift. It outlives the `lua_State` (the state closes first) and every
/// `LuaCanceller` handed out.
///
/// `@unchecked Sendable`, and why that is sound: `pointer` is immutable and the memory it points
/// to is freed only in `deinit`, when no reference remains. Other threads only reach `cancel()`,
/// which touches nothing but the C11 `atomic_int cancelled` field through atomic operations.
/// Every other field is read and written only by the thread that currently owns the
/// (non-Sendable) `LuaState`, through the state's methods or the Lua code they run.
final class LuaControl: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<runner_lua_control>

    init?(memoryLimit: Int) {
        guard let pointer = runner_lua_control_create(max(0, memoryLimit)) else { return nil }
        self.pointer = pointer
    }

    deinit { runner_lua_control_destroy(pointer) }

    /// Any thread: asks the running call (or, when none runs, the next one) to stop.
    func cancel() { runner_lua_control_cancel(pointer) }

    /// Any thread: whether a cancellation was pending; clears it.
    func takeCancellation() -> Bool { runner_lua_control_take_cancel(pointer) != 0 }

    /// Owning thread: why the last call was stopped.
    var abort: runner_lua_abort { runner_lua_abort(UInt32(runner_lua_control_abort(pointer))) }

    /// Owning thread: bytes the state holds now.
    var memoryUsed: Int { runner_lua_control_used(pointer) }
}

/// Stops the calls of one `LuaState` from any thread or task.
///
/// `LuaState` is confined to its owner; hand this out instead, e.g. to a timeout task or a
/// signal handler. It stays valid (and harmless) after the state is gone.
public struct LuaCanceller: Sendable {
    let control: LuaControl

    /// Stops the running call with `LuaError.Kind.cancelled`; when no call runs, the next call
    /// is cancelled as soon as it starts.
    public func cancel() { control.cancel() }
}
