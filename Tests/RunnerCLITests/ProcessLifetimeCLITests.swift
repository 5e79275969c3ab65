import Foundation
import Testing

/// What a run leaves behind when the runner itself dies, through the built binary.
@Suite(.serialized) struct ProcessLifetimeCLITests {
    /// SIGKILL of the runner does not free its `concurrency:` lock while the step it started
    /// still runs: a second run with `--no-wait` is refused and names the leftover process; once
    /// that process is gone, the lock is free.
    @Test func aKilledRunnersLockIsHeldWhileItsStepRuns() throws {
        let cli = CLI()
        let mark = "3600.\(Int.random(in: 100_000...999_999))"
        cli.write("p.yml", """
            concurrency: k
            steps:
              - run: sleep \(mark) & echo $! > sleep.pid; wait
            """)
        let (runner, _, _) = try cli.start(["run", "p.yml"])
        var waited = 0
        while (cli.read("sleep.pid") ?? "").isEmpty && waited < 200 { usleep(50_000); waited += 1 }
        let sleeper = Int32(cli.read("sleep.pid")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(sleeper > 0)
        kill(runner.processIdentifier, SIGKILL)
        runner.waitUntilExit()

        // The second run's step ends at once, so a lock wrongly granted cannot hang the test.
        cli.write("q.yml", "concurrency: k\nsteps:\n  - run: true\n")
        let refused = try cli.run("run", "q.yml", "--no-wait")
        #expect(refused.status == 75)
        let message = refused.stdout + refused.stderr
        #expect(message.contains("lock 'k' is held by run "), "\(message)")
        #expect(message.contains("pid \(runner.processIdentifier)"), "\(message)")
        #expect(message.contains("that runner is gone, but processes it started still hold the lock"), "\(message)")
        #expect(message.contains("\(sleeper) (sleep)"), "\(message)")

        if sleeper > 0 { kill(sleeper, SIGKILL) }
        var next = try cli.run("run", "q.yml", "--no-wait")
        for _ in 0..<50 where next.status != 0 {
            usleep(100_000)  // the killed sleep may take a moment to close its descriptors
            next = try cli.run("run", "q.yml", "--no-wait")
        }
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
    }

    /// `runner validate` refuses a pipeline that calls itself and an empty concurrency key,
    /// with file:line:column and exit code 2.
    @Test func validateRefusesSelfCallsAndEmptyKeys() throws {
        let cli = CLI()
        cli.write("deploy.yml", "concurrency: ''\nsteps:\n  - uses: pipeline\n    with: { run: deploy }\n")
        let r = try cli.run("validate", "deploy.yml")
        #expect(r.status == 2)
        let output = r.stdout + r.stderr
        #expect(output.contains("deploy.yml:1:14: the concurrency key is empty"), "\(output)")
        #expect(output.contains("deploy.yml:4:18: a pipeline cannot call itself (deploy.yml → deploy.yml)"), "\(output)")
    }

    /// A runner started by a run's step tags its commands with that run's token too, so the
    /// outer run's sweep reaches them.
    @Test func anInnerRunnersCommandsCarryTheOuterRunsTag() throws {
        let cli = CLI()
        cli.write("p.yml", "steps:\n  - run: printf '%s' \"$RUNNER_PROCESS_TAG\" > tag\n")
        let r = try cli.run("run", "p.yml", env: ["RUNNER_PROCESS_TAG": "router1.7"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let tokens = (cli.read("tag") ?? "").split(separator: " ")
        #expect(tokens.count == 2 && tokens.first == "router1.7", "\(tokens)")
        #expect(tokens.last?.hasSuffix(".1") == true && tokens.last?.hasPrefix("r") == true, "\(tokens)")
    }
}
