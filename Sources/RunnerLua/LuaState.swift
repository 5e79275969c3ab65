import CLua
import CLuaBounded
import RunnerCore

/// A sandboxed Lua 5.4 interpreter with limits.
///
/// Only `base` (without `dofile`, `loadfile`, `collectgarbage`, `rawset`, `print`, `warn`),
/// `string` (without `dump`), `table`, `math`, `utf8` and an `os` holding just `time`, `clock`
/// and `date` are available. `load` accepts text only; `setmetatable` refuses `__gc` (Lua runs
/// finalizers with hooks off, so no limit could stop them); `pcall` and `xpcall` cannot catch a
/// limit or a cancellation. Swift data is exposed with `setGlobal`, Swift functions with
/// `register` (and `setPrintHandler`).
///
/// The limits hold inside library functions too: `string.find`, `match`, `gmatch`, `gsub`, `rep`
/// and `table.insert`, `remove`, `move`, `sort` are bounded versions (CLuaBounded) that charge
/// their steps to the call, and every function call checks the deadline and cancellation.
///
/// Not `Sendable`: a state belongs to one thread or task at a time. To stop a call from elsewhere
/// use `canceller`. Every Lua error is raised from C; see the rule at the top of `CLua/shim.h`.
public final class LuaState {
    /// The `lua_State`, closed in `deinit`.
    let L: OpaquePointer
    let control: LuaControl
    /// The limits every call runs under.
    public let limits: LuaLimits
    /// Swift functions, indexed by the id stored in their Lua closure.
    var functions: [RegisteredFunction] = []
    /// Nesting of `call` (a Swift function may call back into Lua): only the outermost call arms
    /// and disarms the limits.
    var callDepth = 0

    /// Creates a sandboxed state. Throws `LuaError` (`.memoryLimit`) when the libraries do not
    /// fit in `limits.memoryBytes`.
    public convenience init(limits: LuaLimits = .default) throws(LuaError) {
        try self.init(limits: limits, boundedLibraries: true)
    }

    /// - Parameter boundedLibraries: `false` keeps Lua's own string and table functions, which
    ///   the limits cannot stop; only for tests comparing the two.
    init(limits: LuaLimits, boundedLibraries: Bool) throws(LuaError) {
        guard let control = LuaControl(memoryLimit: limits.memoryBytes), let L = runner_lua_open(control.pointer)
        else { throw LuaError(kind: .memoryLimit, message: "cannot create a Lua state within the memory limit") }
        self.L = L
        self.control = control
        self.limits = limits
        // Unretained: the lua_State never outlives self, and runner_lua_close detaches it first.
        runner_lua_attach(L, Unmanaged.passUnretained(self).toOpaque(), luaDispatch)
        var status = runner_lua_open_sandbox(L)
        if status == LUA_OK, boundedLibraries { status = runner_lua_open_bounded(L) }
        if status != LUA_OK { throw popFailure(status, chunkName: nil) }
    }

    /// Makes the library tables and the globals read-only for the Lua code run from now on
    /// (`string.upper = nil` and `x = 1` raise); `setGlobal` and `register` still work. For the
    /// state that evaluates a run's expressions, so one expression cannot change what the next
    /// one sees.
    func seal() throws(LuaError) {
        let status = runner_lua_seal(L)
        if status != LUA_OK { throw popFailure(status, chunkName: nil) }
    }

    deinit { runner_lua_close(L) }

    /// Bytes the state currently holds (counted against `limits.memoryBytes`).
    public var memoryUsed: Int { control.memoryUsed }

    /// A handle that can stop this state's calls from any thread.
    public var canceller: LuaCanceller { LuaCanceller(control: control) }

    /// Stops the running call with `LuaError.Kind.cancelled`; when none runs, the next call.
    /// Only sets an atomic flag, so it is safe from any thread; since `LuaState` is not
    /// `Sendable`, other threads reach it through `canceller`.
    public func cancel() { control.cancel() }

    /// Compiles text (never bytecode) into a function kept by the state.
    ///
    /// - Parameter chunkName: how messages name the chunk, e.g. `deploy.yml:14`; Lua shortens it
    ///   to 59 bytes in messages.
    /// - Throws: `LuaError` of kind `.syntax` with the chunk name and the line within the chunk.
    public func compile(_ source: String, chunkName: String) throws(LuaError) -> LuaChunk {
        guard lua_checkstack(L, 2) != 0 else { throw LuaError(kind: .memoryLimit, message: "Lua stack exhausted") }
        var source = source
        let status = source.withUTF8 { text in
            ("=" + chunkName).withCString { name in
                runner_lua_loadbuffer(L, text.baseAddress, text.count, name)
            }
        }
        guard status == LUA_OK else { throw popFailure(status, chunkName: chunkName) }
        let ref = runner_lua_ref(L)
        guard ref != LUA_NOREF else { throw LuaError(kind: .memoryLimit, message: "memory limit exceeded") }
        return LuaChunk(state: self, ref: ref, name: chunkName)
    }

    /// Runs a compiled chunk with arguments (the chunk sees them as `...`) and returns all its
    /// results. Each outermost call gets a fresh instruction budget and deadline.
    ///
    /// - Throws: `LuaError`: `.runtime` for errors raised by the script (or results that are
    ///   functions, userdata, cyclic or nested deeper than 64 tables), `.instructionLimit`,
    ///   `.memoryLimit`, `.timeout` or `.cancelled` when stopped. The state stays usable.
    public func call(_ chunk: LuaChunk, _ args: [Value] = []) throws(LuaError) -> [Value] {
        precondition(chunk.state === self, "a LuaChunk can only be called by the LuaState that compiled it")
        let outermost = callDepth == 0
        if outermost, control.takeCancellation() {
            throw LuaError(kind: .cancelled, message: "cancelled", chunkName: chunk.name)
        }
        let base = lua_gettop(L)
        defer { runner_lua_pop(L, lua_gettop(L) - base) }
        guard lua_checkstack(L, 3) != 0 else { throw LuaError(kind: .memoryLimit, message: "Lua stack exhausted") }
        runner_lua_push_message_handler(L)
        runner_lua_push_ref(L, chunk.ref)
        var program = LuaProgram()
        for arg in args { program.push(arg) }
        let pushed = program.run(L)
        guard pushed == LUA_OK else { throw popFailure(pushed, chunkName: chunk.name) }

        if outermost { runner_lua_arm(L, Int64(clamping: limits.instructions), limits.wallClockNanoseconds) }
        callDepth += 1
        let status = runner_lua_pcall(L, Int32(args.count), LUA_MULTRET, base + 1)
        callDepth -= 1
        if outermost { runner_lua_disarm(L) }
        guard status == LUA_OK else { throw popFailure(status, chunkName: chunk.name, stoppable: true) }

        var reader = LuaReader(L: L, verb: "return")
        var results: [Value] = []
        let top = lua_gettop(L)
        var index = base + 2
        while index <= top {
            do {
                results.append(try reader.read(at: index))
            } catch {
                throw LuaError(kind: .runtime, message: error.message, chunkName: chunk.name)
            }
            index += 1
        }
        return results
    }

    /// Whether `source` compiles; the syntax error otherwise.
    public static func checkSyntax(_ source: String, chunkName: String) -> LuaError? {
        do {
            _ = try LuaState(limits: LuaLimits(memoryBytes: 256 << 20)).compile(source, chunkName: chunkName)
            return nil
        } catch {
            return error
        }
    }

    /// Releases a chunk's registry reference (from `LuaChunk.deinit`).
    func release(_ ref: Int32) { runner_lua_unref(L, ref) }
}

/// Not `Sendable`: confined to one thread or task at a time (see `LuaCanceller`).
@available(*, unavailable)
extension LuaState: Sendable {}

/// A compiled chunk. It keeps its `LuaState` alive; the compiled function is released with it.
public final class LuaChunk {
    /// The state that compiled the chunk.
    public let state: LuaState
    /// The chunk name given to `compile`.
    public let name: String
    let ref: Int32

    init(state: LuaState, ref: Int32, name: String) {
        self.state = state
        self.ref = ref
        self.name = name
    }

    deinit { state.release(ref) }
}

@available(*, unavailable)
extension LuaChunk: Sendable {}
