import RunnerCore
import RunnerLua
import Testing

@Suite("Errors")
struct LuaErrorTests {
    @Test func syntaxErrorsHaveChunkAndLine() throws {
        let state = try LuaState()
        let error = failure { _ = try state.compile("local a = 1\nlocal b = = 2\n", chunkName: "deploy.yml:14") }
        #expect(error?.kind == .syntax)
        #expect(error?.chunkName == "deploy.yml:14")
        #expect(error?.line == 2)
        #expect(error?.message == "unexpected symbol near '='")
        #expect(error?.description == "deploy.yml:14:2: unexpected symbol near '='")
        let unfinished = failure { _ = try state.compile("if x then\n\n", chunkName: "c") }
        #expect(unfinished?.line == 3)
        #expect(unfinished?.message.contains("'end' expected") == true)
    }

    @Test func runtimeErrorsHaveChunkAndLine() throws {
        let error = failure(running: "local x = 1\n\nerror('boom')", chunkName: "deploy.yml:14")
        #expect(error?.kind == .runtime)
        #expect(error?.message == "boom")
        #expect(error?.chunkName == "deploy.yml:14")
        #expect(error?.line == 3)
        #expect(error?.traceback.contains { $0.contains("deploy.yml:14:3") } == true)
    }

    @Test func longChunkNames() throws {
        let name = String(repeating: "n", count: 80)
        let error = failure(running: "\nerror('boom')", chunkName: name)
        #expect(error?.message == "boom")
        #expect(error?.chunkName == name)
        #expect(error?.line == 2)
    }

    @Test func errorsFromLibrariesAndOperators() throws {
        let error = failure(running: "local t = nil\nreturn t.x")
        #expect(error?.message == "attempt to index a nil value (local 't')")
        #expect(error?.line == 2)
        #expect(failure(running: "return ('x'):rep(1, 2, 3) .. {}")?.message.contains("attempt to concatenate") == true)
    }

    @Test func errorLevelTwoPointsAtTheCaller() throws {
        let error = failure(running: "local function check() error('bad input', 2) end\n\ncheck()")
        #expect(error?.message == "bad input")
        #expect(error?.line == 3)
    }

    @Test func nonStringErrorValuesAreReadable() throws {
        #expect(failure(running: "error(42)")?.message == "42")
        #expect(failure(running: "error(nil)")?.message == "nil")
        #expect(failure(running: "error(true)")?.message == "true")
        #expect(failure(running: "error({code = 7})")?.message == #"error object: {"code":7}"#)
        #expect(failure(running: "error({message = 'structured'})")?.message == "structured")
        let withToString = "error(setmetatable({}, {__tostring = function() return 'custom' end}))"
        #expect(failure(running: withToString)?.message == "custom")
        #expect(failure(running: "error(print or function() end)")?.message.contains("function") == true)
        #expect(failure(running: "\nerror({})")?.line == 2)
    }

    @Test func tracebackIsLimited() throws {
        let error = failure(running: "local function f(n) if n == 0 then error('deep') end f(n - 1) end f(50)")
        #expect(error?.message == "deep")
        let frames = error?.traceback ?? []
        #expect(!frames.isEmpty)
        #expect(frames.count <= 10)
        #expect(frames.first == "[C]: in function 'error'")
    }

    @Test func stackOverflowIsAnError() throws {
        let error = failure(running: "local function f(n) return 1 + f(n) end return f(1)")
        #expect(error?.kind == .runtime)
        #expect(error?.message == "stack overflow")
        // Shallower frames run out of memory before they run out of stack.
        #expect(failure(running: "local function f() return 1 + f() end return f()")?.kind == .memoryLimit)
    }

    @Test func errorsInLoadedChunks() throws {
        let error = failure(running: "local f = load('\\n\\nerror(\"inner\")', '=inner.lua') f()")
        #expect(error?.message == "inner")
        #expect(error?.chunkName == "inner.lua")
        #expect(error?.line == 3)
    }
}
