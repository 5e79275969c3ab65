import Foundation
import RunnerCore
import RunnerLua
import Testing

/// A real HTTP server (Tests/Support/http_test_server.py) on 127.0.0.1 for the plugin tests.
final class TestHTTPServer: Sendable {
    let port: Int
    private let process: Process
    private let stdin: Pipe

    init() throws {
        let script = DocsExamplesTests.root + "/Tests/Support/http_test_server.py"
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while let byte = try stdout.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line += byte }
        port = Int(String(decoding: line, as: UTF8.self)) ?? 0
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// The body of a GET, fetched with curl.
    func get(_ path: String) throws -> String {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        curl.arguments = ["curl", "-sS", base + path]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
    }
}

@Suite(.serialized) struct LuaPluginTests {
    static let repoPlugins = DocsExamplesTests.root + "/plugins"

    func run(_ yaml: String, dir: TempDir = TempDir(), params: [String: Value] = [:],
             environment: [String: String]? = nil) async throws -> Harness.Result {
        try await Harness.run(yaml, params: params, dir: dir, luaPluginDirectories: [Self.repoPlugins, dir.path + "/plugins"],
                              environment: environment)
    }

    // MARK: The example plugins, against a real server

    @Test func httpProbeWaitsForTheExpectedStatus() async throws {
        let server = try TestHTTPServer()
        let r = try await run("""
            steps:
              - id: probe
                uses: http_probe
                with: { url: "\(server.base)/flaky/a/2", timeout: 20, interval: 0.2, contains: ready }
            """)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.finished.first?.outputs["attempts"] == .int(3))
        #expect(r.sink.finished.first?.outputs["status"] == .int(200))
    }

    @Test func httpProbeFailsAtItsTimeout() async throws {
        let server = try TestHTTPServer()
        let r = try await run("""
            steps:
              - uses: http_probe
                with: { url: "\(server.base)/status/500", timeout: 1, interval: 0.2 }
            """)
        #expect(r.outcome.status == .failed)
        let error = r.sink.finished.first?.error ?? ""
        #expect(error.contains("did not answer 200 within 1s"), "\(error)")
        #expect(error.contains("last: status 500"))
        #expect(error.contains("http_probe.lua:"))
    }

    @Test func gchatPostsTheMessageAndKeepsTheURLSecret() async throws {
        let server = try TestHTTPServer()
        let webhook = "\(server.base)/chat?key=AIzaSyTESTKEY12345&token=abc"
        let r = try await run("""
            secrets:
              - env: RUNNER_TEST_GCHAT
                as: chat
            steps:
              - id: post
                uses: gchat
                with: { webhook: "${{ secrets.chat }}", text: "deployed *phone*", thread: deploy-phone }
            """, environment: ["RUNNER_TEST_GCHAT": webhook])
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.finished.first?.outputs["name"] == "spaces/test/messages/1")
        let recorded = try JSON.decode(try server.get("/chat/requests"))
        let request = recorded.listValue?.first
        #expect(request?["content_type"] == "application/json")
        #expect(try JSON.decode(request?["body"]?.stringValue ?? "") == ["text": "deployed *phone*"])
        #expect(request?["query"]?.stringValue?.contains("threadKey=deploy-phone") == true)
        #expect(!r.sink.transcript.contains("AIzaSyTESTKEY12345"))
    }

    @Test func gchatFailsOnAnErrorStatus() async throws {
        let server = try TestHTTPServer()
        let r = try await run("""
            steps:
              - uses: gchat
                with: { webhook: "\(server.base)/status/403", text: hi }
            """)
        #expect(r.sink.finished.first?.error?.contains("Google Chat answered 403") == true, "\(r.sink.finished.first?.error ?? "")")
    }

    @Test func appJsonReadsTheMigrationField() async throws {
        let dir = TempDir()
        let good = dir.write("app.json", #"{"name": "sgos-phone", "version": "1.4.0", "migration": "breaking"}"#)
        let bad = dir.write("bad.json", "{ not json")
        let r = try await run("""
            steps:
              - id: app
                uses: app_json
                with: { path: \(good) }
              - if: steps.app.outputs.needs_db_restore
                run: echo restore the database
              - name: bad
                uses: app_json
                with: { path: \(bad) }
            """, dir: dir)
        #expect(r.sink.finished.first?.outputs["migration"] == "breaking")
        #expect(r.sink.finished.first?.outputs["version"] == "1.4.0")
        #expect(r.sink.output == ["restore the database"])
        #expect(r.sink.status(of: "bad") == .failed)
        #expect(r.sink.finished.last?.error?.contains("is not valid JSON") == true)
    }

    // MARK: The runner module

    @Test func everyAPIFunction() async throws {
        let server = try TestHTTPServer()
        let dir = TempDir()
        dir.write("plugins/twice.lua", """
            return {
              name = "twice",
              description = "doubles n",
              params = { n = { type = "int", required = true, doc = "a number" } },
              run = function(with, ctx) return { n = with.n * 2, step = ctx.step } end,
            }
            """)
        let r = try await run("""
            params:
              app: { default: phone }
            secrets:
              - env: RUNNER_TEST_SECRET
                as: token
            steps:
              - id: api
                lua: |
                  local e = runner.exec("echo $GREETING from $(basename $PWD); cat; exit 4", { env = { GREETING = "hi" }, cwd = "/tmp", stdin = "piped" })
                  local slow = runner.exec("sleep 5", { timeout = 0.3 })
                  runner.write_file("\(dir.path)/f.txt", "content " .. params.app, { mode = "0600" })
                  local read = runner.read_file("\(dir.path)/f.txt")
                  local doubled = runner.step("twice", { n = 21 })
                  local bad_param = pcall(runner.step, "twice", { n = "x" })
                  local get = runner.http.request { url = "\(server.base)/status/201" }
                  local post = runner.http.request { method = "POST", url = "\(server.base)/chat", json = { a = 1 } }
                  local refused = pcall(runner.http.request, { url = "http://127.0.0.1:1/" })
                  local yaml = runner.yaml.decode(runner.yaml.encode({ list = { 1, "two" }, flag = "on", nested = { ok = true } }))
                  local json = runner.json.decode(runner.json.encode({ x = { 1, 2 } }))
                  local t0 = os.clock()
                  runner.sleep(0.05)
                  runner.log("logged " .. runner.secret("token"))
                  runner.warn("careful")
                  local missing_ok, missing = pcall(runner.secret, "nope")
                  return {
                    exec = e.stdout, exec_code = e.exit_code, exec_ok = e.ok, slow = slow.timed_out,
                    read = read, doubled = doubled.n, bad_param = bad_param,
                    get = get.status, post_name = post.json.name, refused = refused,
                    yaml_flag = yaml.flag, yaml_two = yaml.list[2], yaml_ok = yaml.nested.ok, json2 = json.x[2],
                    missing = missing, host = host == nil, app = params.app,
                  }
            """, dir: dir, environment: ["RUNNER_TEST_SECRET": "s3cret-value-77"])
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        let o = r.sink.finished.first?.outputs ?? [:]
        #expect(o["exec"] == "hi from tmp\npiped")
        #expect(o["exec_code"] == .int(4))
        #expect(o["exec_ok"] == .bool(false))
        #expect(o["slow"] == .bool(true))
        #expect(o["read"] == "content phone")
        let mode = (try FileManager.default.attributesOfItem(atPath: dir.path + "/f.txt")[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)
        #expect(o["doubled"] == .int(42))
        #expect(o["bad_param"] == .bool(false))
        #expect(o["get"] == .int(201))
        #expect(o["post_name"] == "spaces/test/messages/1")
        #expect(o["refused"] == .bool(false))
        #expect(o["yaml_flag"] == "on")
        #expect(o["yaml_two"] == "two")
        #expect(o["yaml_ok"] == .bool(true))
        #expect(o["json2"] == .int(2))
        #expect(o["missing"]?.stringValue?.contains("no secret 'nope' (loaded: token)") == true)
        #expect(o["app"] == "phone")
        #expect(r.sink.transcript.contains("logged ***"))
        #expect(!r.sink.transcript.contains("s3cret-value-77"))
        #expect(r.sink.all.contains { if case .log(.warn, "careful") = $0.kind { true } else { false } })
    }

    // MARK: Loading and validation

    @Test func schemaErrorsPointIntoThePluginFile() throws {
        let dir = TempDir()
        let path = dir.write("plugins/broken.lua", """
            return {
              name = "broken",
              description = "bad schema",
              params = {
                count = { type = "integr", doc = "how many" },
                level = { type = "string", requird = true },
              },
              run = function(with, ctx) end,
            }
            """)
        do {
            _ = try LuaPluginLoader.discover(in: [dir.path + "/plugins"])
            Issue.record("loaded a broken plugin")
        } catch {
            let messages = error.diagnostics.map(\.description)
            #expect(messages.contains("\(path):5:23: param 'count' has unknown type 'integr' (string, int, bool, number, list, map, duration, any, or a list of allowed strings)"), "\(messages)")
            #expect(messages.contains { $0.hasPrefix("\(path):6:32: unknown key 'requird' in param 'level' (did you mean 'required'?)") }, "\(messages)")
        }
    }

    @Test func syntaxErrorsAndMissingRun() throws {
        let dir = TempDir()
        let syntax = dir.write("plugins/a.lua", "return {\n  name = 'a',\n  run = function( end,\n}\n")
        let norun = dir.write("plugins/b.lua", "return { name = 'b', description = 'x' }\n")
        do {
            _ = try LuaPluginLoader.discover(in: [dir.path + "/plugins"])
            Issue.record("loaded")
        } catch {
            let d = error.diagnostics
            #expect(d.contains { $0.location?.file == syntax && $0.location?.line == 3 }, "\(d)")
            #expect(d.contains { $0.location?.file == norun && $0.message.contains("needs a 'run' function") }, "\(d)")
        }
    }

    @Test func withIsValidatedAgainstTheLuaSchema() throws {
        let dir = TempDir()
        let plugins = try LuaPluginLoader.discover(in: [Self.repoPlugins])
        let path = dir.write("p.yml", "steps:\n  - uses: http_probe\n    with: { ulr: x, timeout: soon }\n")
        do {
            _ = try Harness.loader(plugins).load(path: path)
            Issue.record("accepted")
        } catch {
            let d = error.diagnostics.map(\.description)
            #expect(d.contains("\(path):3:13: plugin 'http_probe' has no parameter 'ulr' (did you mean 'url'?)"), "\(d)")
            #expect(d.contains("\(path):2:5: plugin 'http_probe' needs parameter 'url'"), "\(d)")
            #expect(d.contains("\(path):3:30: parameter 'timeout' of plugin 'http_probe' must be number, not string"), "\(d)")
        }
    }

    @Test func nameClashesNameBothFiles() throws {
        let dir = TempDir()
        let one = dir.write("one/greet.lua", "return { name = 'greet', run = function() end }\n")
        let two = dir.write("two/hello.lua", "return { name = 'greet', run = function() end }\n")
        do {
            _ = try LuaPluginLoader.discover(in: [dir.path + "/one", dir.path + "/two"])
            Issue.record("accepted a clash")
        } catch {
            #expect(error.description.contains("plugin 'greet' is defined twice: \(one) and \(two)"), "\(error)")
        }
        let builtin = dir.write("three/pipeline.lua", "return { name = 'pipeline', run = function() end }\n")
        var registry = Harness.plugins
        #expect(throws: InvalidInput.self) {
            for p in try LuaPluginLoader.discover(in: [dir.path + "/three"]) { try registry.register(p) }
        }
        do {
            for p in try LuaPluginLoader.discover(in: [dir.path + "/three"]) { try registry.register(p) }
        } catch {
            #expect(error.description.contains("built-in and \(builtin)"))
        }
    }

    @Test func runtimeErrorsReportPluginFileLineAndTraceback() async throws {
        let dir = TempDir()
        let path = dir.write("plugins/deep.lua", """
            local function check(x)
              if x.migration == nil then
                error("app.json has no migration field")
              end
            end
            return {
              name = "deep",
              run = function(with, ctx)
                check({})
                return {}
              end,
            }
            """)
        let r = try await run("steps:\n  - name: checks app\n    uses: deep\n", dir: dir)
        let error = r.sink.finished.first?.error ?? ""
        #expect(error.hasPrefix("\(path):3:1: app.json has no migration field"), "\(error)")
        #expect(error.contains("traceback:"))
        #expect(error.contains("\(path):9"), "the caller's frame: \(error)")
        #expect(!error.contains("runner plugin call"), "runner's own frames are hidden: \(error)")
        guard case .stepFinished = r.sink.all.last(where: { if case .stepFinished = $0.kind { true } else { false } })?.kind else { return }
        #expect(r.sink.finished.first?.label == "checks app")
    }

    /// `runner.fail` in a plugin: the plugin's message at its line, without a Lua traceback.
    @Test func runnerFailInAPluginPrintsOnlyItsMessage() async throws {
        let dir = TempDir()
        let path = dir.write("plugins/gate.lua", """
            local function check(x)
              if x.ready ~= true then
                runner.fail("the app is not ready")
              end
            end
            return {
              name = "gate",
              run = function(with, ctx)
                check({})
                return {}
              end,
            }
            """)
        let r = try await run("steps:\n  - uses: gate\n", dir: dir)
        let error = r.sink.finished.first?.error ?? ""
        #expect(error == "\(path):3:1: the app is not ready", "\(error)")
    }

    @Test(arguments: [
        ("os.execute('touch /tmp/x')", "os.execute"),
        ("io.open('/etc/passwd')", "io"),
        ("require('os')", "require"),
        ("load(string.dump(function() end))", "string.dump"),
        ("load('\\27Lua', 'x', 'b')()", "binary"),
        ("debug.sethook()", "debug"),
    ])
    func sandboxEscapesAreRefused(code: String, hint: String) async throws {
        let dir = TempDir()
        dir.write("plugins/escape.lua", "return { name = 'escape', run = function(with, ctx) \(code) return {} end }\n")
        let r = try await run("steps:\n  - uses: escape\n", dir: dir)
        #expect(r.sink.status(of: "escape") == .failed, "\(code) should fail")
        let error = r.sink.finished.first?.error ?? ""
        #expect(error.count > 0)
    }

    @Test func runawayPluginsAreStopped() async throws {
        let dir = TempDir()
        dir.write("plugins/spin.lua", "return { name = 'spin', run = function() while true do end end }\n")
        dir.write("plugins/hog.lua", "return { name = 'hog', run = function() local t = {} while true do t[#t+1] = string.rep('x', 4096) .. #t end end }\n")
        let r = try await run("steps:\n  - uses: spin\n  - if: always()\n    uses: hog\n", dir: dir)
        #expect(r.sink.finished.first?.error?.contains("instruction limit") == true, "\(r.sink.finished.first?.error ?? "")")
        #expect(r.sink.finished.last?.error?.contains("memory limit") == true, "\(r.sink.finished.last?.error ?? "")")
    }

    @Test func requireLoadsSharedModulesFromPluginLibOnly() async throws {
        let dir = TempDir()
        dir.write("plugins/lib/sgos/names.lua", "local M = {}\nfunction M.container(app) return 'sgos-' .. app .. '-app' end\nreturn M\n")
        dir.write("plugins/container.lua", """
            local names = require("sgos.names")
            return {
              name = "container",
              params = { app = { type = "string", required = true } },
              run = function(with) return { name = names.container(with.app) } end,
            }
            """)
        let r = try await run("""
            steps:
              - uses: container
                with: { app: phone }
              - lua: |
                  local escaped = pcall(require, "../../../etc/passwd")
                  local absolute = pcall(require, "/etc/passwd")
                  local ok, missing = pcall(require, "nope")
                  return { escaped = escaped, absolute = absolute, missing = missing }
            """, dir: dir)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.finished.first?.outputs["name"] == "sgos-phone-app")
        let o = r.sink.finished.last?.outputs ?? [:]
        #expect(o["escaped"] == .bool(false))
        #expect(o["absolute"] == .bool(false))
        #expect(o["missing"]?.stringValue?.contains("no module 'nope'") == true)
    }
}
