import RunnerCore
import RunnerLua
import Testing

@Suite("Sandbox")
struct LuaSandboxTests {
    @Test("dangerous globals are absent", arguments: [
        "io", "debug", "package", "require", "dofile", "loadfile", "collectgarbage", "rawset", "print",
        "coroutine", "os.execute", "os.exit", "os.getenv", "os.remove", "os.rename", "os.tmpname", "string.dump",
    ])
    func absent(name: String) throws {
        #expect(try evaluate("return \(name) == nil") == true)
    }

    @Test("escapes fail", arguments: [
        "os.execute('true')", "io.open('/etc/passwd')", "require('os')", "debug.sethook()",
        "dofile('/etc/passwd')", "string.dump(function() end)", "(''):dump()",
        "load(string.dump(function() end))()", "collectgarbage('stop')", "rawset(_G, 'x', 1)",
    ])
    func escapesFail(source: String) throws {
        let error = failure(running: source)
        #expect(error?.kind == .runtime)
        #expect(error?.message.hasPrefix("attempt to") == true)
    }

    @Test func safeLibrariesWork() throws {
        #expect(try evaluate("return string.upper('x') .. table.concat({1, 2}) .. math.floor(2.5) .. utf8.char(233)") == "X122é")
        #expect(try evaluate("return math.type(os.time()) == 'integer' and type(os.clock()) == 'number'") == true)
        #expect(try evaluate("return os.date('!%Y', 0)") == "1970")
    }

    @Test func loadAcceptsTextOnly() throws {
        #expect(try evaluate("return load('return 1 + 1')()") == 2)
        #expect(try evaluate("return load('return x', 'c', 'bt', {x = 5})()") == 5)
        let binary = try run(#"return load("\27Lua\84\0\25\147\13\10\26\10\4\8\8")"#)
        #expect(binary.first == .null)
        #expect(binary.last?.stringValue?.contains("attempt to load a binary chunk") == true)
        let forced = try run(#"return load("\27Lua", "x", "b")"#)
        #expect(forced.first == .null)
        #expect(forced.last?.stringValue?.contains("binary") == true)
        let reader = try run(#"local done = false return load(function() if done then return nil end done = true return "\27Lua" end)"#)
        #expect(reader.first == .null)
    }

    @Test func printNeedsAHandler() throws {
        let state = try LuaState()
        #expect(failure(running: "print('hi')", in: state)?.message.contains("print") == true)
        var lines: [String] = []
        try state.setPrintHandler { lines.append($0) }
        _ = try run("print('hi', 1, 2.5, nil, true) print()", in: state)
        #expect(lines == ["hi\t1\t2.5\tnil\ttrue", ""])
    }

    @Test func syntaxCheckIsStatic() {
        #expect(LuaState.checkSyntax("return 1", chunkName: "ok") == nil)
        let error = LuaState.checkSyntax("local x = \n\n = 2", chunkName: "deploy.yml:14")
        #expect(error?.kind == .syntax)
        #expect(error?.line == 3)
        #expect(error?.chunkName == "deploy.yml:14")
    }
}
