import RunnerCore
import RunnerLua
import Testing

/// Expressions of one run share a Lua state; none may change what the next one sees.
@Suite struct LuaExpressionStateTests {
    let at = SourceLocation(file: "p.yml", line: 3, column: 9)

    func runtime() throws -> any ScriptRuntime {
        try LuaScripting().makeRuntime(masker: SecretMasker())
    }

    func evaluate(_ source: String, in runtime: any ScriptRuntime) async throws -> Value {
        try await runtime.evaluate(Expression(source, at: at), locals: [:])
    }

    @Test(arguments: [
        "(function() string.upper = nil; return 1 end)()",
        "(function() string.upper = function() return 'owned' end; return 1 end)()",
        "(function() table.concat = nil; return 1 end)()",
        "(function() math.floor = nil; return 1 end)()",
        "(function() utf8.char = nil; return 1 end)()",
        "(function() os.time = nil; return 1 end)()",
        "(function() getmetatable('').__index.upper = nil; return 1 end)()",
        "(function() params = { app = 'evil' }; return 1 end)()",
        "(function() _G.params = { app = 'evil' }; return 1 end)()",
        "(function() success = function() return true end; return 1 end)()",
        "(function() upper = 1; return 1 end)()",
        "load('string = nil; params = nil')()",
        "(function() json.encode = nil; return 1 end)()",
        "setmetatable(_G, {})",
    ])
    func anExpressionCannotChangeTheEnvironment(source: String) async throws {
        let runtime = try runtime()
        try await runtime.set(["params"], ["app": "phone"])
        await #expect(throws: (any Error).self) { try await evaluate(source, in: runtime) }
        #expect(try await evaluate("string.upper(params.app)", in: runtime) == "PHONE")
        #expect(try await evaluate("table.concat({ math.floor(1.5), utf8.char(65), type(os.time()) }, ',')", in: runtime) == "1,A,number")
        #expect(try await evaluate("success() and upper == nil and json.encode({1}) == '[1]'", in: runtime) == true)
    }

    @Test func theErrorSaysWhatIsReadOnly() async throws {
        let runtime = try runtime()
        do {
            _ = try await evaluate("(function() string.upper = nil; return 1 end)()", in: runtime)
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("attempt to modify read-only table 'string'"), "\(error)")
        }
    }

    @Test func readingStillWorks() async throws {
        let runtime = try runtime()
        try await runtime.set(["vars", "dir"], "/srv/apps/x")
        #expect(try await evaluate("('abc'):upper() .. string.format('%d', 3) .. #_G.vars.dir", in: runtime) == "ABC311")
        #expect(try await evaluate("(function() local n = 0 for k in pairs(string) do n = n + 1 end return n > 10 end)()", in: runtime) == true)
        #expect(try await evaluate("(function() local t = {} t.x = 1 return t.x end)()", in: runtime) == 1)
    }
}
