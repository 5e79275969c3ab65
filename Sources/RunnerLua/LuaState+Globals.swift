import CLua
import RunnerCore

/// A Swift function callable from Lua.
struct RegisteredFunction {
    let name: String
    let body: (LuaCallArguments) throws -> [Value]
}

extension LuaState {
    /// Sets a global variable.
    ///
    /// - Parameter readOnly: tables become read-only proxies, nested ones too: assigning to them
    ///   raises `attempt to modify read-only table 'params'` (or `'params.db'`, `'params.hosts[1]'`),
    ///   while indexing, `pairs`, `ipairs`, `#` and the `table` functions that read work as
    ///   usual (`next`, `rawget` and `rawlen` see the empty proxy). Returned or passed to Swift, a
    ///   proxy converts as the data it wraps.
    /// - Throws: `LuaError` (`.memoryLimit`) when the value does not fit.
    public func setGlobal(_ name: String, _ value: Value, readOnly: Bool = true) throws(LuaError) {
        var program = LuaProgram()
        program.emit(RUNNER_LUA_OP_GLOBALS)
        program.emit(RUNNER_LUA_OP_STRING, string: name)
        program.push(value, readOnly: readOnly ? name : nil)
        program.emit(RUNNER_LUA_OP_SETFIELD)
        program.emit(RUNNER_LUA_OP_POP, a: 1)
        try perform(program)
    }

    /// Makes a Swift function callable from Lua under a dotted path such as `log`, `json.encode`
    /// or `runner.json.encode`.
    ///
    /// Missing tables on the path are created read-only. An existing read-only table (from
    /// `setGlobal`) receives the function in the data it wraps, which is how a module mixing
    /// values and functions is built:
    ///
    ///     try state.setGlobal("runner", ["version": "1.2"])
    ///     try state.register("runner.log") { args in log(args[0].interpolated); return [] }
    ///
    /// Arguments arrive converted to `Value`s (a function or userdata argument is an error).
    /// The results become the function's Lua results. A Swift `throw` becomes a Lua error, which
    /// `pcall` can catch, whose message is `String(describing: error)`.
    ///
    /// The state keeps `function`: capture the state itself (or a chunk, which holds the state)
    /// `unowned` or `weak` inside it, or the two keep each other alive.
    ///
    /// - Throws: `LuaError` when the path is malformed or crosses a value that is not a table.
    public func register(_ path: String, _ function: @escaping (LuaCallArguments) throws -> [Value]) throws(LuaError) {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let last = parts.last, !parts.contains(where: \.isEmpty) else {
            throw LuaError(kind: .runtime, message: "invalid function name '\(path)'")
        }
        var program = LuaProgram()
        program.emit(RUNNER_LUA_OP_GLOBALS)
        for depth in parts.indices.dropLast() {
            program.emit(RUNNER_LUA_OP_SUBTABLE, string: parts[depth], name: parts[...depth].joined(separator: "."))
        }
        program.emit(RUNNER_LUA_OP_STRING, string: last)
        program.emit(RUNNER_LUA_OP_FUNCTION, a: lua_Integer(functions.count))
        program.emit(RUNNER_LUA_OP_SETFIELD)
        program.emit(RUNNER_LUA_OP_POP, a: 1)
        functions.append(RegisteredFunction(name: path, body: function))
        try perform(program)
    }

    /// Installs `print` (absent by default): its arguments are formatted like Lua's `print`
    /// (`tostring` of each, tab-separated) and passed to `handler` as one line.
    public func setPrintHandler(_ handler: @escaping (String) -> Void) throws(LuaError) {
        var program = LuaProgram()
        program.emit(RUNNER_LUA_OP_GLOBALS)
        program.emit(RUNNER_LUA_OP_STRING, string: "print")
        program.emit(RUNNER_LUA_OP_FUNCTION, a: lua_Integer(functions.count))
        program.emit(RUNNER_LUA_OP_PRINT)
        program.emit(RUNNER_LUA_OP_SETFIELD)
        program.emit(RUNNER_LUA_OP_POP, a: 1)
        functions.append(
            RegisteredFunction(name: "print") { arguments in
                handler(arguments[0].stringValue ?? "")
                return []
            })
        try perform(program)
    }

    /// Runs a program that leaves the stack as it found it.
    private func perform(_ program: LuaProgram) throws(LuaError) {
        let base = lua_gettop(L)
        defer { runner_lua_pop(L, lua_gettop(L) - base) }
        let status = program.run(L)
        if status != LUA_OK { throw popFailure(status, chunkName: nil) }
    }

    /// Runs Swift function `id` for `runner_lua_trampoline`, on the stack of that C function:
    /// its arguments are at 1...top. Returns the number of results pushed, -1 when an error
    /// value was pushed instead, -2 when nothing could be pushed.
    func dispatch(_ L: OpaquePointer, id: Int) -> Int32 {
        guard functions.indices.contains(id) else { return pushError(L, "unknown Swift function #\(id)") }
        let function = functions[id]
        var reader = LuaReader(L: L, verb: "pass")
        var values: [Value] = []
        for index in 0..<Int(lua_gettop(L)) {
            do {
                values.append(try reader.read(at: Int32(index + 1)))
            } catch {
                return pushError(L, "bad argument #\(index + 1) to '\(function.name)' (\(error.message))")
            }
        }
        let results: [Value]
        do {
            results = try function.body(LuaCallArguments(functionName: function.name, values: values))
        } catch {
            return pushError(L, String(describing: error))
        }
        var program = LuaProgram()
        for result in results { program.push(result) }
        switch program.run(L) {
        case LUA_OK: return Int32(results.count)
        case RUNNER_LUA_NO_STACK: return -2
        default: return -1  // the error value is on top
        }
    }

    private func pushError(_ L: OpaquePointer, _ message: String) -> Int32 {
        var program = LuaProgram()
        program.push(.string(message))
        // On success the message is on top; on failure the memory error is.
        return program.run(L) == RUNNER_LUA_NO_STACK ? -2 : -1
    }
}

/// The C dispatcher given to every state (`runner_lua_attach`): finds the owning `LuaState`.
func luaDispatch(_ L: OpaquePointer?, _ owner: UnsafeMutableRawPointer?, _ id: lua_Integer) -> Int32 {
    guard let L, let owner else { return -2 }
    return Unmanaged<LuaState>.fromOpaque(owner).takeUnretainedValue().dispatch(L, id: Int(id))
}
