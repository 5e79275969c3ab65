import RunnerCore
import RunnerLua
import Testing

@Suite("Read-only globals")
struct LuaReadOnlyTests {
    let state: LuaState

    init() throws {
        state = try LuaState()
        try state.setGlobal(
            "params",
            ["env": "prod", "db": ["host": "db1", "port": 5432], "hosts": ["a", "b", "c"]])
    }

    @Test(arguments: [
        ("params.env = 'dev'", "params"),
        ("params.new = 1", "params"),
        ("params.db.host = 'x'", "params.db"),
        ("params.hosts[4] = 'd'", "params.hosts"),
        ("table.insert(params.hosts, 'd')", "params.hosts"),
        ("table.remove(params.hosts)", "params.hosts"),
        ("table.sort(params.hosts, function(a, b) return a > b end)", "params.hosts"),
    ])
    func assignmentsRaise(source: String, name: String) throws {
        let error = failure(running: source, in: state)
        #expect(error?.kind == .runtime)
        #expect(error?.message == "attempt to modify read-only table '\(name)'")
        #expect(error?.line == 1)
        #expect(try evaluate("return params.env", in: state) == "prod")
    }

    @Test func errorIsCatchableByPcall() throws {
        let result = try run("local ok, err = pcall(function() params.env = 1 end) return ok, err", in: state)
        #expect(result.first == false)
        #expect(result.last?.stringValue?.hasSuffix("attempt to modify read-only table 'params'") == true)
    }

    @Test func readingWorks() throws {
        #expect(try evaluate("return params.db.port + 1", in: state) == 5433)
        #expect(try evaluate("return #params.hosts", in: state) == 3)
        #expect(try evaluate("local s = '' for i, h in ipairs(params.hosts) do s = s .. i .. h end return s", in: state) == "1a2b3c")
        let keys = "local k = {} for key in pairs(params) do k[#k + 1] = key end table.sort(k) return table.concat(k, ',')"
        #expect(try evaluate(keys, in: state) == "db,env,hosts")
        #expect(try evaluate("return table.concat(params.hosts, '+')", in: state) == "a+b+c")
        #expect(try evaluate("return params.missing", in: state) == .null)
    }

    @Test func proxiesConvertBackAsTheirData() throws {
        #expect(try evaluate("return params.db", in: state) == ["host": "db1", "port": 5432])
        #expect(try evaluate("return {wrapped = params.hosts}", in: state) == ["wrapped": ["a", "b", "c"]])
    }

    @Test func swiftFunctionsReceiveTheWrappedData() throws {
        var received: Value = .null
        try state.register("inspect") { arguments in
            received = arguments[0]
            return []
        }
        _ = try run("inspect(params.db)", in: state)
        #expect(received == ["host": "db1", "port": 5432])
    }

    @Test func metatablesAreLocked() throws {
        #expect(try evaluate("return getmetatable(params)", in: state) == "read-only")
        #expect(failure(running: "setmetatable(params, nil)", in: state)?.message == "cannot change a protected metatable")
        #expect(try evaluate("return rawget(params, 'env')", in: state) == .null)
    }

    @Test func rawsetIsUnavailable() throws {
        #expect(failure(running: "rawset(params, 'env', 'dev')", in: state)?.message.contains("rawset") == true)
        #expect(try evaluate("return params.env", in: state) == "prod")
    }

    @Test func writableGlobalsCanChange() throws {
        try state.setGlobal("vars", ["n": 1], readOnly: false)
        #expect(try evaluate("vars.n = vars.n + 1 vars.list = {1} return vars", in: state) == ["n": 2, "list": [1]])
    }
}
