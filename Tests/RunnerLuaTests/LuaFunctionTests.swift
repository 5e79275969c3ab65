import RunnerCore
import RunnerLua
import Testing

private struct DeployFailed: Error, CustomStringConvertible {
    var description: String { "deploy failed: disk full" }
}

@Suite("Swift functions")
struct LuaFunctionTests {
    @Test func nestedPathsAndConversions() throws {
        let state = try LuaState()
        var logged: [Value] = []
        try state.register("runner.log") { arguments in
            logged = arguments.values
            return []
        }
        try state.register("runner.json.echo") { arguments in arguments.values }
        try state.register("double") { arguments in [.int(try arguments.int(0) * 2)] }
        let results = try run(
            "runner.log('x', 1, {a = {1, 2}}, nil) return double(21), runner.json.echo(1.5, 'y', {k = true})", in: state)
        #expect(logged == ["x", 1, ["a": [1, 2]], .null])
        #expect(results == [42, 1.5, "y", ["k": true]])
    }

    @Test func swiftErrorsAreCatchableByPcall() throws {
        let state = try LuaState()
        try state.register("deploy") { _ in throw DeployFailed() }
        let results = try run("local ok, err = pcall(deploy) return ok, err", in: state)
        #expect(results == [false, "deploy failed: disk full"])
    }

    @Test func uncaughtSwiftErrorsPointAtTheCaller() throws {
        let state = try LuaState()
        try state.register("runner.deploy") { _ in throw DeployFailed() }
        let error = failure(running: "local x = 1\nrunner.deploy()", in: state, chunkName: "deploy.yml:9")
        #expect(error?.kind == .runtime)
        #expect(error?.message == "deploy failed: disk full")
        #expect(error?.chunkName == "deploy.yml:9")
        #expect(error?.line == 2)
    }

    @Test func longChunkNamesSurviveSwiftErrors() throws {
        let state = try LuaState()
        try state.register("deploy") { _ in throw DeployFailed() }
        let name = "pipelines/" + String(repeating: "x", count: 70) + ".yml:12"
        let error = failure(running: "\n\ndeploy()", in: state, chunkName: name)
        #expect(error?.chunkName == name)
        #expect(error?.line == 3)
    }

    @Test func argumentErrors() throws {
        let state = try LuaState()
        try state.register("double") { arguments in [.int(try arguments.int(0) * 2)] }
        #expect(failure(running: "double('x')", in: state)?.message == "bad argument #1 to 'double' (integer expected, got string)")
        #expect(failure(running: "double(print or double)", in: state)?.message == "bad argument #1 to 'double' (cannot pass a function)")
    }

    @Test func readOnlyModuleMixingValuesAndFunctions() throws {
        let state = try LuaState()
        try state.setGlobal("runner", ["version": "1.2", "json": [:]])
        try state.register("runner.json.encode") { arguments in [.string(JSON.encode(arguments[0]))] }
        try state.register("runner.env.get") { arguments in [.string("value of \(try arguments.string(0))")] }
        #expect(try evaluate("return runner.json.encode({b = 1})", in: state) == #"{"b":1}"#)
        #expect(try evaluate("return runner.version .. ' ' .. runner.env.get('HOME')", in: state) == "1.2 value of HOME")
        #expect(try evaluate("local n = 0 for k in pairs(runner) do n = n + 1 end return n", in: state) == 3)
        #expect(failure(running: "runner.json.encode = nil", in: state)?.message == "attempt to modify read-only table 'runner.json'")
        #expect(failure(running: "runner.env = {}", in: state)?.message == "attempt to modify read-only table 'runner'")
        #expect(failure(running: "runner.env.x = 1", in: state)?.message == "attempt to modify read-only table 'runner.env'")
    }

    @Test func registrationErrors() throws {
        let state = try LuaState()
        try state.setGlobal("scalar", 1)
        #expect(failure { try state.register("scalar.f") { _ in [] } }?.message.contains("not a table") == true)
        #expect(failure { try state.register("a..b") { _ in [] } } != nil)
        #expect(failure { try state.register("") { _ in [] } } != nil)
    }

    @Test func swiftCanCallBackIntoLua() throws {
        let state = try LuaState()
        let inner = try state.compile("return (...) * 10", chunkName: "inner")
        try state.register("times10") { [unowned inner] arguments in try inner.state.call(inner, [arguments[0]]) }
        #expect(try evaluate("return times10(4) + 1", in: state) == 41)
        withExtendedLifetime(inner) {}
    }

    @Test func limitsApplyInsideCallbacks() throws {
        let state = try LuaState(limits: LuaLimits(instructions: 1_000_000))
        let spin = try state.compile("while true do end", chunkName: "spin")
        try state.register("spin") { [unowned spin] _ in try spin.state.call(spin) }
        let error = failure(running: "pcall(spin) while true do end", in: state)
        #expect(error?.kind == .instructionLimit)
        withExtendedLifetime(spin) {}
    }
}
