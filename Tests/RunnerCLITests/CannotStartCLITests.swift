import Foundation
import Testing

/// A run that cannot start prints one error line and exits 2 (a held lock with `--no-wait`:
/// 75), with no summary and nothing recorded; every "cannot start" path says so the same way.
@Suite(.serialized) struct CannotStartCLITests {
    /// The run is not announced: no header, no "failed in 1ms: 0 ok" summary, no run stored.
    func expectNothingRan(_ r: CLI.Result, _ cli: CLI, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        #expect(!r.stdout.contains("failed in"), "\(r.stdout)", sourceLocation: sourceLocation)
        #expect(!r.stdout.contains("0 ok"), "\(r.stdout)", sourceLocation: sourceLocation)
        #expect(cli.read("ran") == nil, sourceLocation: sourceLocation)
        let errorLines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errorLines.count == 1, "\(r.stderr)", sourceLocation: sourceLocation)
        let runs = try cli.run("runs")
        #expect(!runs.stdout.contains("failed"), "\(runs.stdout)", sourceLocation: sourceLocation)
    }

    @Test func missingSecretExits2WithOneLine() throws {
        let cli = CLI()
        cli.write("p.yml", """
            secrets:
              - env: RUNNER_TEST_NEVER_SET_4711
            steps:
              - run: touch ran
            finally:
              - run: touch ran
            """)
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("p.yml:2:5: secret 'RUNNER_TEST_NEVER_SET_4711': environment variable RUNNER_TEST_NEVER_SET_4711 is not set; nothing ran"),
                "\(r.stderr)")
        try expectNothingRan(r, cli)

        let json = try cli.run("run", "p.yml", "--output", "json")
        #expect(json.status == 2)
        #expect(json.stdout.isEmpty, "\(json.stdout)")
    }

    @Test func failingVarExits2() throws {
        let cli = CLI()
        cli.write("p.yml", "vars:\n  x: ${{ error('no way') }}\nsteps:\n  - run: touch ran\n")
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("no way"), "\(r.stderr)")
        try expectNothingRan(r, cli)
    }

    /// A held lock with `--no-wait` is its own code, 75 (EX_TEMPFAIL): busy, not broken.
    @Test func heldLockWithNoWaitExits75() throws {
        let cli = CLI()
        cli.write("p.yml", "concurrency: k\nsteps:\n  - run: touch started; while [ ! -e release ]; do sleep 0.05; done\n")
        let (first, out, _) = try cli.start(["run", "p.yml"])
        var waited = 0
        while cli.read("started") == nil && waited < 400 { usleep(50_000); waited += 1 }
        cli.write("q.yml", "concurrency: k\nsteps:\n  - run: touch ran\n")
        let r = try cli.run("run", "q.yml", "--no-wait")
        cli.write("release", "")
        _ = out.fileHandleForReading.readDataToEndOfFile()
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        #expect(r.status == 75, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("error: lock 'k' is held by run "), "\(r.stderr)")
        #expect(r.stderr.contains("nothing ran; try again once it is released (exit 75)"), "\(r.stderr)")
        #expect(!r.stdout.contains("failed in"), "\(r.stdout)")
        #expect(cli.read("ran") == nil)
    }

    /// `on: ${{ params.server }}` naming no host stops the run before its first step, not at
    /// that step after the others ran.
    @Test func hostFromAParamIsCheckedBeforeTheFirstStep() throws {
        let cli = CLI()
        cli.write("p.yml", """
            params:
              server: { required: true }
            hosts:
              hornbill: { connection: local }
            steps:
              - run: touch ran
              - on: ${{ params.server }}
                run: touch ran-on-host
            """)
        let r = try cli.run("run", "p.yml", "server=hornbil")
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("p.yml:7:9: step 'touch ran-on-host': on: ${{ params.server }} is 'hornbil', which is no host or group of the inventory (did you mean 'hornbill'?); nothing ran"),
                "\(r.stderr)")
        try expectNothingRan(r, cli)
        let ok = try cli.run("run", "p.yml", "server=hornbill")
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(cli.read("ran-on-host") != nil)
    }

    /// The other ways a run cannot start were already exit 2 with one line: they stay so.
    @Test func otherPathsExit2() throws {
        let cli = CLI()
        cli.write("p.yml", """
            params:
              app: { required: true, pattern: '^[a-z]+$' }
            hosts:
              here: { connection: local }
            steps:
              - on: here
                run: touch ran
            """)
        for args in [["run", "p.yml"], ["run", "p.yml", "app=BAD"], ["run", "p.yml", "app=ok", "--limit", "hre"],
                     ["run", "p.yml", "app=ok", "--inventory", "missing.yml"]] {
            let r = try cli.run(args)
            #expect(r.status == 2, "\(args): \(r.stdout)\(r.stderr)")
            #expect(r.stderr.hasPrefix("error: "), "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(args): \(r.stdout)")
            #expect(cli.read("ran") == nil)
        }
        let limit = try cli.run("run", "p.yml", "app=ok", "--limit", "hre")
        #expect(limit.stderr.contains("--limit: no host or group 'hre'"), "\(limit.stderr)")
    }
}
