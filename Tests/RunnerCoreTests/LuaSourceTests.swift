import RunnerCore
import Testing

/// The lexical view behind the name checks: what counts as a global read, what a chunk defines.
@Suite struct LuaSourceTests {
    func free(_ source: String) -> [String] { LuaSource(source).freeNames.map(\.name) }

    @Test func fieldsKeysStringsAndCommentsAreNotGlobals() {
        #expect(free("params.app .. 'parms' .. \"x\" .. [[y]] -- zz") == ["params"])
        #expect(free("{ name = a, [b] = c; d = 1 }") == ["a", "b", "c"])
        #expect(free("obj:method(x) --[[ long\ncomment ]] y") == ["obj", "x", "y"])
        #expect(free("1e-3 + 0x1F + .5") == [])
        #expect(free("f(a == b, c)") == ["f", "a", "b", "c"])
    }

    @Test func definitionsAnywhereInAChunkCount() {
        #expect(free("""
            print2(later)
            local a, b <const> = 1, 2
            local function f(x, y) return x + y end
            function g(...) return ... end
            for i = 1, 2 do end
            for k, v in pairs({}) do end
            later, other = a, b
            goto done
            ::done::
            """) == ["print2", "pairs"])
    }

    @Test func paths() {
        let paths = LuaSource("steps.a.outputs.stdout .. steps['b'].x .. t.steps.c").paths(from: "steps").map(\.path)
        #expect(paths == [["steps", "a", "outputs", "stdout"], ["steps"]])
    }
}
