import CLua
import RunnerCore

/// Converts Lua values to `Value` using only API functions that cannot raise.
///
/// nil → `.null`, boolean → `.bool`, integer → `.int`, float → `.double`, string → `.string`
/// (bytes that are not UTF-8 become U+FFFD). A table whose keys are exactly 1...n (n > 0) becomes
/// a `.list`; any other table a `.map` whose numeric keys are written as Lua writes them (`2`,
/// `1.5`); a string key wins over a number with the same text. A read-only proxy converts as the
/// data it wraps. Functions, userdata, threads, boolean or table keys, tables that contain
/// themselves and nesting deeper than 64 tables are errors.
struct LuaReader {
    struct Failure: Error {
        var message: String
    }

    /// Deepest nesting of tables accepted.
    static let maxDepth = 64

    let L: OpaquePointer
    /// Completes "cannot … a function" in messages: "return", "pass", "raise".
    let verb: String
    /// Tables being converted, to detect cycles.
    private var visiting: Set<UnsafeRawPointer> = []

    init(L: OpaquePointer, verb: String) {
        self.L = L
        self.verb = verb
    }

    /// Converts the value at `index`. The stack is left as it was, also on failure.
    mutating func read(at index: Int32) throws(Failure) -> Value {
        try read(at: lua_absindex(L, index), depth: 0)
    }

    private mutating func read(at index: Int32, depth: Int) throws(Failure) -> Value {
        let type = lua_type(L, index)
        switch type {
        case LUA_TNIL, LUA_TNONE: return .null
        case LUA_TBOOLEAN: return .bool(lua_toboolean(L, index) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, index) != 0 { return .int(Int(lua_tointegerx(L, index, nil))) }
            return .double(lua_tonumberx(L, index, nil))
        case LUA_TSTRING: return .string(Self.string(L, at: index))
        case LUA_TTABLE: return try table(at: index, depth: depth)
        default: throw Failure(message: "cannot \(verb) a \(String(cString: lua_typename(L, type)))")
        }
    }

    private enum Key {
        case integer(Int)
        case string(String)
    }

    private mutating func table(at index: Int32, depth: Int) throws(Failure) -> Value {
        guard depth < Self.maxDepth else {
            throw Failure(message: "cannot \(verb) tables nested deeper than \(Self.maxDepth) levels")
        }
        guard lua_checkstack(L, 4) != 0 else { throw Failure(message: "Lua stack exhausted") }
        if runner_lua_proxy_data(L, index) != 0 {
            defer { runner_lua_pop(L, 1) }
            return try table(at: lua_gettop(L), depth: depth + 1)
        }
        guard let pointer = lua_topointer(L, index), visiting.insert(pointer).inserted else {
            throw Failure(message: "cannot \(verb) a table that contains itself")
        }
        defer { visiting.remove(pointer) }

        var entries: [(key: Key, value: Value)] = []
        lua_pushnil(L)
        while lua_next(L, index) != 0 {
            do {
                let value = try read(at: lua_gettop(L), depth: depth + 1)
                entries.append((try key(at: lua_gettop(L) - 1), value))
            } catch {
                runner_lua_pop(L, 2)
                throw error
            }
            runner_lua_pop(L, 1)
        }
        return Self.value(of: entries)
    }

    /// The key at `index`, without converting it in place (that would break `lua_next`).
    private func key(at index: Int32) throws(Failure) -> Key {
        switch lua_type(L, index) {
        case LUA_TSTRING:
            return .string(Self.string(L, at: index))
        case LUA_TNUMBER where lua_isinteger(L, index) != 0:
            return .integer(Int(lua_tointegerx(L, index, nil)))
        case LUA_TNUMBER:
            var buffer = [CChar](repeating: 0, count: 64)
            let length = runner_lua_format_number(lua_tonumberx(L, index, nil), &buffer, buffer.count)
            return .string(String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        case let type:
            let name = String(cString: lua_typename(L, type))
            throw Failure(message: "cannot \(verb) a table with \(name) keys (only strings and numbers)")
        }
    }

    private static func value(of entries: [(key: Key, value: Value)]) -> Value {
        let count = entries.count
        var list = [Value](repeating: .null, count: count)
        var isList = count > 0
        for entry in entries where isList {
            if case .integer(let i) = entry.key, i >= 1, i <= count {
                list[i - 1] = entry.value  // keys are unique, so 1...n are all present
            } else {
                isList = false
            }
        }
        if isList { return .list(list) }

        var map: [String: Value] = [:]
        for case (.integer(let i), let value) in entries { map[String(i)] = value }
        for case (.string(let key), let value) in entries { map[key] = value }
        return .map(map)
    }

    /// The string at `index`, which must be of type `LUA_TSTRING`.
    static func string(_ L: OpaquePointer, at index: Int32) -> String {
        var length = 0
        guard let bytes = lua_tolstring(L, index, &length) else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: bytes, count: length), as: UTF8.self)
    }
}
