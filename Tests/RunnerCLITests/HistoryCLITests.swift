import Foundation
import Testing

/// Whether this machine lets us make a private mount namespace (to mount the state read-only).
private let canUnshare: Bool = {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
    process.arguments = ["-m", "true"]
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
}()

/// `runner runs` / `show` / `runs prune`, the log budget and retention (issue 10, item 14 and
/// the read-only state directory).
@Suite(.serialized) struct HistoryCLITests {
    /// Runs `runner args` with the state directory bind-mounted read-only in a private namespace.
    private func runReadOnly(_ cli: CLI, _ args: [String]) throws -> CLI.Result {
        let script = #"mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@""#
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        process.arguments = ["-m", "sh", "-c", script, "sh", cli.stateDir, CLI.binary] + args
        process.currentDirectoryURL = URL(fileURLWithPath: cli.dir)
        var environment = ProcessInfo.processInfo.environment
        environment["RUNNER_STATE_DIR"] = cli.stateDir
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
    }

    @Test(.enabled(if: canUnshare, "needs unshare -m")) func historyReadsFromAReadOnlyStateDirectory() throws {
        let cli = CLI()
        cli.write("p.yml", "name: ro\nsteps:\n  - run: echo kept-in-history\n")
        #expect(try cli.run("run", "p.yml").status == 0)
        try FileManager.default.removeItem(atPath: cli.stateDir + "/runs.lock")
        // As the runner left it (its WAL still there), then cleanly checkpointed and closed.
        for clean in [false, true] {
            if clean {
                let python = Process()
                python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                python.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('pragma wal_checkpoint(TRUNCATE)'); c.close()",
                                    cli.stateDir + "/runs.sqlite"]
                try python.run()
                python.waitUntilExit()
                #expect(!FileManager.default.fileExists(atPath: cli.stateDir + "/runs.sqlite-wal"))
            }
            let runs = try runReadOnly(cli, ["runs"])
            #expect(runs.status == 0, "clean \(clean): \(runs.stderr)")
            #expect(runs.stdout.contains("ro") && runs.stdout.contains("succeeded"), "\(runs.stdout)")
            let show = try runReadOnly(cli, ["show", "last", "--log"])
            #expect(show.status == 0, "clean \(clean): \(show.stderr)")
            #expect(show.stdout.contains("kept-in-history"))
        }
        #expect(!FileManager.default.fileExists(atPath: cli.stateDir + "/runs.lock"))
        // Writing still fails, clearly.
        let run = try runReadOnly(cli, ["run", "p.yml"])
        #expect(run.status == 2 && run.stderr.contains("runs.lock") && run.stderr.contains("RUNNER_STATE_DIR"), "\(run.stderr)")
    }

    @Test func historyOfAFreshStateDirectoryIsEmptyAndCreatesNothing() throws {
        let cli = CLI()
        let runs = try cli.run("runs")
        #expect(runs.status == 0 && runs.stdout == "no runs yet\n")
        #expect(try cli.run("show", "last").status == 2)
        #expect(!FileManager.default.fileExists(atPath: cli.stateDir))
    }

    @Test func showLogJoinsTheLongLineAndTheBudgetMarksWhatWasNotKept() throws {
        let cli = CLI()
        cli.write("long.yml", "name: long\nsteps:\n  - run: \"head -c 102400 /dev/zero | tr '\\\\0' q; echo\"\n")
        #expect(try cli.run("run", "long.yml").status == 0)
        let show = try cli.run("show", "last", "--log")
        #expect(show.stdout.split(separator: "\n").contains { $0.hasSuffix(" " + String(repeating: "q", count: 102400)) },
                "the 100 KiB line is one line of the log")

        cli.write("noisy.yml", "name: noisy\nsteps:\n  - run: \"seq 1 2000\"\n  - run: echo after-the-noise\n")
        let run = try cli.run("run", "noisy.yml", env: ["RUNNER_LOG_BUDGET": "64KiB"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("│ 2000\n"), "the console still shows everything")
        let log = try cli.run("show", "last", "--log").stdout
        #expect(log.contains("[runner] log budget of 64 KiB used up"), "\(log)")
        #expect(log.contains("not kept: over the run's log budget of 64 KiB"))
        #expect(!log.contains("] 2000\n") && !log.contains("] after-the-noise"))
        #expect(log.contains("] 100\n") && !log.contains("] 1999\n"), "the log is kept up to the budget")
        #expect(log.contains("run succeeded"))

        let bad = try cli.run("run", "noisy.yml", env: ["RUNNER_LOG_BUDGET": "lots"])
        #expect(bad.status == 2 && bad.stderr.contains("RUNNER_LOG_BUDGET='lots' is not a size"))
    }

    @Test func pruneDeletesOldRunsAndRetentionAppliesAfterEachRun() throws {
        let cli = CLI()
        let help = try cli.run("runs", "prune", "--help")
        #expect(help.status == 0 && help.stdout.contains("--older-than") && help.stdout.contains("RUNNER_RETENTION"))
        #expect(try cli.run("runs", "--help").stdout.contains("prune"))
        cli.write("p.yml", "name: keep\nsteps:\n  - run: echo hi\n")
        #expect(try cli.run("run", "p.yml").status == 0)
        #expect(try cli.run("run", "p.yml").status == 0)
        let none = try cli.run("runs", "prune", "--older-than", "30d")
        #expect(none.status == 0 && none.stdout.hasPrefix("deleted 0 runs"), "\(none.stdout)")
        #expect(try cli.run("runs").stdout.split(separator: "\n").count == 3)
        let all = try cli.run("runs", "prune", "--older-than", "1ms")
        #expect(all.status == 0 && all.stdout.hasPrefix("deleted 2 runs"), "\(all.stdout)\(all.stderr)")
        #expect(try cli.run("runs").stdout == "no runs yet\n")
        #expect(try cli.run("runs", "prune", "--older-than", "soon").status == 2)

        // The default retention runs after each run: with 1ms, the runs before are gone.
        #expect(try cli.run("run", "p.yml").status == 0)
        #expect(try cli.run("run", "p.yml", env: ["RUNNER_RETENTION": "1ms"]).status == 0)
        #expect(try cli.run("runs").stdout == "no runs yet\n")
        #expect(try cli.run("run", "p.yml", env: ["RUNNER_RETENTION": "off"]).status == 0)
        #expect(try cli.run("runs").stdout.split(separator: "\n").count == 2)
        let bad = try cli.run("run", "p.yml", env: ["RUNNER_RETENTION": "forever"])
        #expect(bad.status == 2 && bad.stderr.contains("RUNNER_RETENTION='forever'"))
    }
}
