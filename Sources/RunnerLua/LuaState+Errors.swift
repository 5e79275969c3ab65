import CLua
import RunnerCore

extension LuaState {
    /// Turns a failed status into a `LuaError`, popping the error value when there is one.
    ///
    /// - Parameter stoppable: the failure ended a call, so a limit or cancellation recorded by the
    ///   hook or the allocator decides the kind (a script may have caught and rethrown it).
    func popFailure(_ status: Int32, chunkName: String?, stoppable: Bool = false) -> LuaError {
        var error: LuaError
        if status == RUNNER_LUA_NO_STACK {
            error = LuaError(kind: .memoryLimit, message: "Lua stack exhausted", chunkName: chunkName)
        } else {
            error = describe(status, at: lua_gettop(L), chunkName: chunkName, handled: stoppable)
            runner_lua_pop(L, 1)
        }
        if stoppable, let kind = stopKind(control.abort) {
            error.kind = kind
            error.message = stopMessage(kind)
            if kind == .cancelled { _ = control.takeCancellation() }
        }
        return error
    }

    private func stopKind(_ abort: runner_lua_abort) -> LuaError.Kind? {
        switch abort {
        case RUNNER_LUA_ABORT_INSTRUCTIONS: .instructionLimit
        case RUNNER_LUA_ABORT_MEMORY: .memoryLimit
        case RUNNER_LUA_ABORT_TIMEOUT: .timeout
        case RUNNER_LUA_ABORT_CANCELLED: .cancelled
        default: nil
        }
    }

    private func stopMessage(_ kind: LuaError.Kind) -> String {
        switch kind {
        case .instructionLimit: "instruction limit of \(limits.instructions) exceeded"
        case .memoryLimit: "memory limit of \(ByteCount.format(limits.memoryBytes)) exceeded"
        case .timeout: "time limit of \(limits.wallClock.map { "\($0)" } ?? "none") exceeded"
        default: "cancelled"
        }
    }


    /// Describes the error value at `index` (a string, or the table built by the message
    /// handler when `handled`).
    private func describe(_ status: Int32, at index: Int32, chunkName: String?, handled: Bool) -> LuaError {
        switch status {
        case LUA_ERRMEM:
            return LuaError(kind: .memoryLimit, message: stopMessage(.memoryLimit), chunkName: chunkName)
        case LUA_ERRSYNTAX:
            let text = stringValue(at: index) ?? "syntax error"
            guard let split = LuaError.splitPosition(text, sources: [chunkName].compactMap { $0 }) else {
                return LuaError(kind: .syntax, message: text, chunkName: chunkName)
            }
            return LuaError(kind: .syntax, message: split.message, chunkName: split.chunkName, line: split.line)
        case LUA_ERRRUN where handled && lua_type(L, index) == LUA_TTABLE:
            return describeHandled(at: index, chunkName: chunkName)
        default:
            let text = stringValue(at: index) ?? "(error object is a \(typeName(at: index)) value)"
            let message = status == LUA_ERRERR ? "error in error handling: \(text)" : text
            return LuaError(kind: .runtime, message: message, chunkName: chunkName)
        }
    }

    /// Reads the table made by `runner_lua_message_handler`.
    private func describeHandled(at index: Int32, chunkName: String?) -> LuaError {
        guard lua_checkstack(L, 2) != 0 else { return LuaError(kind: .runtime, message: "Lua stack exhausted") }
        let source = field(index, 4, stringValue(at:))
        let line = field(index, 5) { lua_isinteger(L, $0) != 0 ? Int(lua_tointegerx(L, $0, nil)) : nil }
        let traceback = field(index, 3, stringValue(at:)).map(LuaError.frames(ofTraceback:)) ?? []
        let location = source.map { LuaError.fullName(of: $0, candidates: [chunkName].compactMap { $0 }) } ?? chunkName
        var error = LuaError(kind: .runtime, message: "", chunkName: location, line: line, traceback: traceback)

        _ = lua_rawgeti(L, index, 1)
        defer { runner_lua_pop(L, 1) }
        if let text = stringValue(at: -1) {
            let sources = [chunkName, location].compactMap { $0 }
            if let split = LuaError.splitPosition(text, sources: sources) {
                (error.message, error.chunkName, error.line) = (split.message, split.chunkName, split.line)
            } else {
                error.message = text
            }
        } else if let text = field(index, 2, stringValue(at:)) {
            error.message = text
        } else {
            var reader = LuaReader(L: L, verb: "raise")
            let value = try? reader.read(at: lua_gettop(L))
            error.message = value.map(Self.describeErrorValue) ?? "(error object is a \(typeName(at: -1)) value)"
        }
        return error
    }

    /// A table raised as an error: its `message` field when it has one, else its JSON form.
    private static func describeErrorValue(_ value: Value) -> String {
        if let message = value["message"]?.stringValue { return message }
        return "error object: \(value.interpolated)"
    }

    /// Pushes `table[key]` (raw, non-raising), reads it, pops it.
    private func field<T>(_ table: Int32, _ key: lua_Integer, _ read: (Int32) -> T?) -> T? {
        _ = lua_rawgeti(L, table, key)
        defer { runner_lua_pop(L, 1) }
        return read(lua_gettop(L))
    }

    /// The string at `index` when it is one (never converts numbers: that could raise).
    func stringValue(at index: Int32) -> String? {
        guard lua_type(L, index) == LUA_TSTRING else { return nil }
        return LuaReader.string(L, at: index)
    }

    private func typeName(at index: Int32) -> String {
        String(cString: lua_typename(L, lua_type(L, index)))
    }
}
