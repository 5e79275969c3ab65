import RunnerCore
import RunnerLua
import Testing

@Suite("Value conversion")
struct LuaValueTests {
    @Test("scalars keep their type", arguments: [
        ("return nil", Value.null),
        ("return true", .bool(true)),
        ("return false", .bool(false)),
        ("return 42", .int(42)),
        ("return -7 // 2", .int(-4)),
        ("return 1.5", .double(1.5)),
        ("return 2.0", .double(2.0)),
        ("return 7 / 7", .double(1.0)),
        ("return math.maxinteger", .int(Int.max)),
        ("return 'héllo'", .string("héllo")),
        ("return ''", .string("")),
    ])
    func scalars(source: String, expected: Value) throws {
        #expect(try evaluate(source) == expected)
    }

    @Test func returnsAllResults() throws {
        #expect(try run("return 1, 'two', nil, 3.5") == [1, "two", .null, 3.5])
        #expect(try run("local x = 1") == [])
    }

    @Test func invalidUTF8BecomesReplacementCharacters() throws {
        #expect(try evaluate(#"return "a\255b""#) == .string("a\u{FFFD}b"))
        #expect(try evaluate(#"return "nul\0byte""#) == .string("nul\u{0}byte"))
    }

    @Test func sequencesBecomeLists() throws {
        #expect(try evaluate("return {10, 'x', true}") == [10, "x", true])
        #expect(try evaluate("return {{1, 2}, {3}}") == [[1, 2], [3]])
    }

    @Test func otherTablesBecomeMapsWithStringKeys() throws {
        #expect(try evaluate("return {}") == .map([:]))
        #expect(try evaluate("return {a = 1, b = {c = 'd'}}") == ["a": 1, "b": ["c": "d"]])
        #expect(try evaluate("return {[1] = 'a', [3] = 'c'}") == ["1": "a", "3": "c"])
        #expect(try evaluate("return {[0] = 'z', 'a'}") == ["0": "z", "1": "a"])
        #expect(try evaluate("return {[1.5] = 'x', [2] = 'y'}") == ["1.5": "x", "2": "y"])
        #expect(try evaluate("return {'a', n = 1}") == ["1": "a", "n": 1])
        #expect(try evaluate("return {[1] = 'number', ['1'] = 'string'}") == ["1": "string"])
    }

    @Test func argumentsRoundTrip() throws {
        let value: Value = [
            "name": "web", "port": 8080, "ratio": 0.5, "on": true, "nothing": [:],
            "hosts": ["a", "b", ["nested": [1, 2.5, "three"]]],
        ]
        #expect(try run("return ...", [value, 1, "s", .null, false]) == [value, 1, "s", .null, false])
        let state = try LuaState()
        let chunk = try state.compile("local t = ... return t.port + 1, #t.hosts, t.hosts[3].nested[2], math.type(t.port)", chunkName: "t")
        #expect(try state.call(chunk, [value]) == [8081, 3, 2.5, "integer"])
    }

    @Test func globalsRoundTrip() throws {
        let state = try LuaState()
        let value: Value = ["list": [1, 2, 3], "map": ["k": "v"], "float": 1.0]
        try state.setGlobal("params", value)
        try state.setGlobal("vars", value, readOnly: false)
        #expect(try run("return params, vars, math.type(params.float)", in: state) == [value, value, "float"])
    }

    @Test func functionsCannotBeReturned() throws {
        let error = failure(running: "return print or function() end")
        #expect(error?.kind == .runtime)
        #expect(error?.message == "cannot return a function")
        #expect(failure(running: "return {f = function() end}")?.message == "cannot return a function")
        #expect(failure(running: "return {[{}] = 1}")?.message.contains("table keys") == true)
        #expect(failure(running: "return {[true] = 1}")?.kind == .runtime)
    }

    @Test func cyclesAndDeepNestingAreErrors() throws {
        #expect(failure(running: "local t = {} t.self = t return t")?.message == "cannot return a table that contains itself")
        let deep = "local t = {} local cur = t for i = 1, 100 do cur.x = {} cur = cur.x end return t"
        #expect(failure(running: deep)?.message.contains("deeper than 64") == true)
        let ok = "local t = {} local cur = t for i = 1, 60 do cur.x = {} cur = cur.x end return t"
        #expect(try evaluate(ok).mapValue != nil)
        // Shared (non-cyclic) subtables are fine.
        #expect(try evaluate("local s = {1} return {s, s}") == [[1], [1]])
    }

    @Test func stateIsUsableAfterConversionErrors() throws {
        let state = try LuaState()
        _ = failure(running: "local t = {} t[1] = t return t", in: state)
        #expect(try evaluate("return 1 + 1", in: state) == 2)
    }
}
