import Foundation
import Testing

/// Runs the built `runner` binary as users do.
struct CLI {
    static var binary: String {
        if let override = ProcessInfo.processInfo.environment["RUNNER_BIN"] { return override }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("runner").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return ".build/debug/runner"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    let dir: String
    let stateDir: String

    init() {
        var template = Array((NSTemporaryDirectory() + "/runner-cli-XXXXXX").utf8CString)
        dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        stateDir = dir + "/state"
    }

    func write(_ name: String, _ text: String) {
        let path = dir + "/" + name
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    }

    func read(_ name: String) -> String? { try? String(contentsOfFile: dir + "/" + name, encoding: .utf8) }

    /// Starts the runner (or `executable`, such as `unshare`, given the runner's path in `args`).
    func start(_ args: [String], env: [String: String] = [:], executable: String? = nil) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? Self.binary)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: dir)
        var environment = ProcessInfo.processInfo.environment
        environment["RUNNER_STATE_DIR"] = stateDir
        environment["NO_COLOR"] = "1"
        for (k, v) in env { environment[k] = v }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    @discardableResult
    func run(_ args: String..., env: [String: String] = [:]) throws -> Result {
        try run(args, env: env)
    }

    @discardableResult
    func run(_ args: [String], env: [String: String] = [:], executable: String? = nil) throws -> Result {
        let (process, out, err) = try start(args, env: env, executable: executable)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }
}

@Suite(.serialized) struct CLITests {
    /// docs/plugins.md is what `runner plugins --markdown` prints (every built-in plugin and the
    /// repository's Lua plugins): regenerate it when a schema changes.
    @Test func pluginReferenceIsCurrent() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let cli = CLI()
        try FileManager.default.createSymbolicLink(atPath: cli.dir + "/plugins", withDestinationPath: root + "/plugins")
        let r = try cli.run("plugins", "--markdown")
        #expect(r.status == 0, "\(r.stderr)")
        let committed = try String(contentsOfFile: root + "/docs/plugins.md", encoding: .utf8)
        #expect(r.stdout == committed, "run: runner plugins --markdown > docs/plugins.md")

        // Each page docs/plugins/<name>.md carries that plugin's generated tables verbatim.
        let pages = try FileManager.default.contentsOfDirectory(atPath: root + "/docs/plugins").filter { $0.hasSuffix(".md") }
        #expect(!pages.isEmpty)
        for page in pages {
            let name = String(page.dropLast(3))
            let generated = try cli.run("plugins", name, "--markdown").stdout
            guard let start = generated.range(of: "## \(name)\n") else {
                Issue.record("runner plugins \(name) --markdown has no section for \(name)")
                continue
            }
            let text = try String(contentsOfFile: root + "/docs/plugins/" + page, encoding: .utf8)
            #expect(text.contains(generated[start.lowerBound...]), "docs/plugins/\(page): paste the output of runner plugins \(name) --markdown")
        }
    }

    @Test func version() throws {
        let r = try CLI().run("--version")
        #expect(r.status == 0)
        #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test func helpExplainsCommands() throws {
        let r = try CLI().run("--help")
        #expect(r.status == 0)
        for command in ["run", "validate", "plan", "list", "plugins", "runs", "show", "schema"] {
            #expect(r.stdout.contains(command), "help should list \(command)")
        }
        #expect(try CLI().run("run", "--help").stdout.contains("--dry-run"))
    }

    @Test func runByNameWithParams() throws {
        let cli = CLI()
        cli.write("pipelines/deploy.yml", """
            params:
              app: { required: true, pattern: '^[a-z]+$' }
            steps:
              - id: hello
                run: echo deploying sgos-${{ params.app }}
            """)
        let r = try cli.run("run", "deploy", "app=phone")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("deploying sgos-phone"))
        #expect(r.stdout.contains("1 ok, 0 changed, 0 skipped, 0 failed"))
    }

    @Test func invalidParamsExit2AndRunNothing() throws {
        let cli = CLI()
        cli.write("p.yml", "params:\n  app: { required: true, pattern: '^[a-z]+$' }\nsteps:\n  - run: touch ran\n")
        let bad = try cli.run("run", "p.yml", "app=Bad!")
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("param 'app'"))
        let missing = try cli.run("run", "p.yml")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("missing required param 'app'"))
        let unknown = try cli.run("run", "p.yml", "app=ok", "ap=x")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("no param 'ap'"))
        let notAssignment = try cli.run("run", "p.yml", "phone")
        #expect(notAssignment.status == 2)
        #expect(cli.read("ran") == nil)
    }

    @Test func validateReportsFileLineColumnAndExits2() throws {
        let cli = CLI()
        cli.write("bad.yml", "steps:\n  - run: true\n    retires: 2\n")
        cli.write("good.yml", "steps:\n  - run: true\n")
        let r = try cli.run("validate", "bad.yml", "good.yml")
        #expect(r.status == 2)
        #expect(r.stderr.contains("bad.yml:3:5: unknown key 'retires' in a step (did you mean 'retry'?)"))
        #expect(r.stdout.contains("ok  good.yml"))
        #expect(!r.stderr.contains("Fatal") && !r.stderr.contains("Stack"))
        let missing = try cli.run("validate", "nope.yml")
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no pipeline 'nope.yml'"))
    }

    @Test func runOfInvalidPipelineRunsNothing() throws {
        let cli = CLI()
        cli.write("p.yml", "steps:\n  - run: touch ran\n  - run: echo ${{ params.\n")
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 2)
        #expect(r.stderr.contains("p.yml:3:"))
        #expect(cli.read("ran") == nil)
    }

    @Test func failedRunExits1() throws {
        let cli = CLI()
        cli.write("p.yml", "steps:\n  - run: exit 3\n")
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 1)
        #expect(r.stdout.contains("exit code 3"))
    }

    @Test func sigintCancelsRunsFinallyAndExits130() throws {
        let cli = CLI()
        cli.write("p.yml", """
            steps:
              - run: echo started > started; sleep 30; echo no > not-cancelled
            finally:
              - run: echo cleaned > cleaned
            """)
        let (process, out, _) = try cli.start(["run", "p.yml"])
        var waited = 0
        while cli.read("started") == nil && waited < 100 {
            usleep(50_000)
            waited += 1
        }
        kill(process.processIdentifier, SIGINT)
        _ = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(cli.read("cleaned") == "cleaned\n")
        #expect(cli.read("not-cancelled") == nil)
    }

    /// A closed SSH session (SIGHUP) cancels like Ctrl-C; a second signal kills running commands.
    @Test func hangupCancelsAndASecondSignalKillsCommands() throws {
        let cli = CLI()
        cli.write("p.yml", """
            steps:
              - run: echo $$ > started; sleep 30
            finally:
              - run: echo cleaned > cleaned
            """)
        let (process, out, _) = try cli.start(["run", "p.yml"])
        var waited = 0
        while cli.read("started") == nil && waited < 100 { usleep(50_000); waited += 1 }
        kill(process.processIdentifier, SIGHUP)
        _ = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(cli.read("cleaned") == "cleaned\n")

        let stubborn = CLI()
        stubborn.write("p.yml", "steps:\n  - run: trap '' TERM; echo $$ > started; sleep 30; echo survived > survived\n")
        let (second, secondOut, _) = try stubborn.start(["run", "p.yml"])
        waited = 0
        while stubborn.read("started") == nil && waited < 100 { usleep(50_000); waited += 1 }
        let shell = Int32(stubborn.read("started")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        kill(second.processIdentifier, SIGINT)
        usleep(300_000)
        kill(second.processIdentifier, SIGINT)
        _ = secondOut.fileHandleForReading.readDataToEndOfFile()
        second.waitUntilExit()
        #expect(second.terminationStatus == 130)
        usleep(200_000)
        #expect(shell > 0 && (kill(shell, 0) != 0 || isZombie(shell)), "the step's shell outlived the runner")
        let show = try stubborn.run("show", "last")
        #expect(show.stdout.contains("status    cancelled"), "\(show.stdout)")
    }

    @Test func aClosedOutputPipeDoesNotKillTheRun() throws {
        let cli = CLI()
        cli.write("p.yml", "steps:\n  - run: seq 1 20000\n  - run: echo done > done\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "'\(CLI.binary)' run p.yml | head -n 1 > /dev/null; sleep 1"]
        process.currentDirectoryURL = URL(fileURLWithPath: cli.dir)
        process.environment = ProcessInfo.processInfo.environment.merging(["RUNNER_STATE_DIR": cli.stateDir]) { _, new in new }
        try process.run()
        process.waitUntilExit()
        #expect(cli.read("done") == "done\n")
    }

    @Test func jsonOutputFollowsTheLoggingStandard() throws {
        let cli = CLI()
        cli.write("p.yml", "steps:\n  - id: s\n    run: echo hi\n")
        let r = try cli.run("run", "p.yml", "--output", "json")
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count >= 4)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let ts = object?["ts"] as? String ?? ""
            #expect(ts.hasSuffix("Z") && ts.count == 24, "ts \(ts)")
            #expect(["debug", "info", "warn", "error"].contains(object?["level"] as? String ?? ""))
            #expect(object?["msg"] is String)
            #expect((object?["run_id"] as? String)?.count == 26)
        }
        #expect(r.stdout.contains("\"event\":\"step_finished\""))
    }

    @Test func historyRunsAndShow() throws {
        let cli = CLI()
        cli.write("p.yml", "name: hist\nparams:\n  app: {}\nsteps:\n  - id: s\n    run: echo recorded-output\n")
        try cli.run("run", "p.yml", "app=phone")
        try cli.run("run", "p.yml", "app=ikhaya")
        let runs = try cli.run("runs", "--pipeline", "hist")
        #expect(runs.status == 0)
        let rows = runs.stdout.split(separator: "\n").dropFirst()
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { $0.contains("succeeded") })
        let ids = rows.map { String($0.split(separator: " ")[0]) }
        #expect(ids == ids.sorted(by: >), "newest first")
        let show = try cli.run("show", "last", "--log")
        #expect(show.status == 0)
        #expect(show.stdout.contains("ikhaya"))
        #expect(show.stdout.contains("recorded-output"))
        let missing = try cli.run("show", "ZZZZ")
        #expect(missing.status == 2)
    }

    @Test func pluginsAndSchema() throws {
        let cli = CLI()
        let list = try cli.run("plugins")
        #expect(list.stdout.contains("pipeline"))
        let md = try cli.run("plugins", "--markdown")
        #expect(md.stdout.contains("| `run` | string | yes |"))
        let schema = try cli.run("schema")
        let object = try JSONSerialization.jsonObject(with: Data(schema.stdout.utf8)) as? [String: Any]
        #expect(object?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let unknown = try cli.run("plugins", "dockr")
        #expect(unknown.status == 2)
    }

    @Test func planAndDryRunRunNothing() throws {
        let cli = CLI()
        cli.write("p.yml", """
            params:
              app: { required: true }
            hosts:
              box: { connection: local }
            vars:
              dir: /srv/apps/sgos-${{ params.app }}
            steps:
              - name: touch it
                on: box
                run: touch ran; echo ${{ vars.dir }}
              - name: reload
                on: box
                sudo: true
                run: touch ran-too
            """)
        let plan = try cli.run("plan", "p.yml", "app=phone")
        #expect(plan.status == 0)
        #expect(plan.stdout.contains("dir = /srv/apps/sgos-phone"))
        #expect(plan.stdout.contains("touch it  [run on box]"))
        #expect(plan.stdout.contains("reload  [run on box, sudo as root]"))
        #expect(plan.stdout.contains("echo '/srv/apps/sgos-phone'"))
        let dry = try cli.run("run", "p.yml", "app=phone", "--dry-run")
        #expect(dry.status == 0)
        #expect(cli.read("ran") == nil)
    }

    @Test func listShowsParams() throws {
        let cli = CLI()
        cli.write("pipelines/deploy.yml", "description: Deploy an app\nparams:\n  app: { required: true, description: app name }\nsteps:\n  - run: true\n")
        let r = try cli.run("list")
        #expect(r.stdout.contains("deploy  (pipelines/deploy.yml)"))
        #expect(r.stdout.contains("app (string, required): app name"))
    }
}

@Suite(.serialized) struct CLIPluginTests {
    @Test func luaPluginsAreListedAndValidated() throws {
        let cli = CLI()
        cli.write("plugins/greet.lua", """
            return {
              name = "greet",
              description = "Say hello",
              params = { who = { type = "string", required = true, doc = "Whom" } },
              run = function(with, ctx) runner.log("hello " .. with.who) return { said = with.who } end,
            }
            """)
        cli.write("pipelines/hi.yml", "steps:\n  - uses: greet\n    with: { who: team }\n")
        cli.write("pipelines/typo.yml", "steps:\n  - uses: greet\n    with: { whom: team }\n")
        let list = try cli.run("plugins")
        #expect(list.stdout.contains("greet     Say hello") || list.stdout.contains("greet"), "\(list.stdout)")
        let ran = try cli.run("run", "hi")
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(ran.stdout.contains("hello team"))
        let typo = try cli.run("validate", "pipelines/typo.yml")
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("pipelines/typo.yml:3:13: plugin 'greet' has no parameter 'whom'"), "\(typo.stderr)")
    }

    @Test func brokenPluginSchemaExits2WithItsLocation() throws {
        let cli = CLI()
        cli.write("plugins/bad.lua", "return {\n  name = 'bad',\n  params = { n = { type = 'integr' } },\n  run = function() end,\n}\n")
        cli.write("pipelines/p.yml", "steps:\n  - run: touch ran\n")
        let r = try cli.run("run", "p")
        #expect(r.status == 2)
        #expect(r.stderr.contains("plugins/bad.lua:3:28: param 'n' has unknown type 'integr'"), "\(r.stderr)")
        #expect(cli.read("ran") == nil)
    }
}

func isZombie(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}
