import CLua
import RunnerCore

/// Builds values in a Lua state without raising from Swift: the work is encoded as operations
/// for `runner_lua_run` (C), which performs them in protected mode.
///
/// Conversion: `.null` → nil, `.bool` → boolean, `.int` → integer, `.double` → float,
/// `.string` → string, `.list` → table with keys 1...n (a `.null` element leaves a hole),
/// `.map` → table with string keys.
struct LuaProgram {
    private var ops: [runner_lua_op] = []
    /// String operands; never empty, so the pool always has an address.
    private var pool: [UInt8] = [0]

    /// Pushes a value. With a `readOnly` name, tables (nested ones too) become read-only proxies
    /// whose errors name them (`params`, `params.db`, `params.hosts[1]`).
    mutating func push(_ value: Value, readOnly name: String? = nil) {
        switch value {
        case .null: emit(RUNNER_LUA_OP_NIL)
        case .bool(let bool): emit(RUNNER_LUA_OP_BOOLEAN, a: bool ? 1 : 0)
        case .int(let int): emit(RUNNER_LUA_OP_INTEGER, a: lua_Integer(int))
        case .double(let double): emit(RUNNER_LUA_OP_NUMBER, number: double)
        case .string(let string): emit(RUNNER_LUA_OP_STRING, string: string)
        case .list(let items):
            emit(RUNNER_LUA_OP_TABLE, a: lua_Integer(clamping: items.count))
            for (offset, item) in items.enumerated() {
                push(item, readOnly: name.map { "\($0)[\(offset + 1)]" })
                emit(RUNNER_LUA_OP_SETINDEX, a: lua_Integer(offset + 1))
            }
            if let name { emit(RUNNER_LUA_OP_READONLY, name: name) }
        case .map(let entries):
            emit(RUNNER_LUA_OP_TABLE, b: lua_Integer(clamping: entries.count))
            for (key, item) in entries {
                emit(RUNNER_LUA_OP_STRING, string: key)
                push(item, readOnly: name.map { "\($0).\(key)" })
                emit(RUNNER_LUA_OP_SETFIELD)
            }
            if let name { emit(RUNNER_LUA_OP_READONLY, name: name) }
        }
    }

    /// Appends one operation; see `enum runner_lua_opcode` in shim.h for what each does.
    mutating func emit(
        _ code: runner_lua_opcode, a: lua_Integer = 0, b: lua_Integer = 0, number: Double = 0,
        string: String? = nil, name: String? = nil
    ) {
        let (offset, length) = store(string)
        let (nameOffset, nameLength) = store(name)
        ops.append(
            runner_lua_op(
                code: code, a: a, b: b, number: number, offset: offset, length: length,
                name_offset: nameOffset, name_length: nameLength))
    }

    private mutating func store(_ string: String?) -> (offset: Int, length: Int) {
        guard let string else { return (0, 0) }
        let offset = pool.count
        pool.append(contentsOf: string.utf8)
        return (offset, pool.count - offset)
    }

    /// Runs the program in protected mode. Returns `LUA_OK` with the pushed values on the stack,
    /// an error status with the error value on top, or `RUNNER_LUA_NO_STACK` with nothing pushed.
    func run(_ L: OpaquePointer) -> Int32 {
        ops.withUnsafeBufferPointer { ops in
            pool.withUnsafeBytes { pool in runner_lua_run(L, ops.baseAddress, ops.count, pool.baseAddress) }
        }
    }
}
