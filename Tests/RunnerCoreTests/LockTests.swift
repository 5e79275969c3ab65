import Foundation
import RunnerCore
import Testing

@Suite(.serialized) struct LockTests {
    let yaml = """
        params:
          app: { default: phone }
        concurrency: deploy-${{ params.app }}
        steps:
          - run: sleep 1.5
        """

    @Test func secondRunWaitsWithAMessage() async throws {
        let dir = TempDir()
        async let first = Harness.run(yaml, dir: dir)
        try await Task.sleep(for: .milliseconds(400))
        let clock = ContinuousClock()
        let start = clock.now
        let second = try await Harness.run("concurrency: deploy-phone\nsteps:\n  - run: true\n", dir: dir)
        let waited = clock.now - start
        let firstResult = try await first
        #expect(firstResult.outcome.status == .succeeded)
        #expect(second.outcome.status == .succeeded)
        #expect(waited > .milliseconds(500), "the second run should have waited, took \(waited)")
        let waiting = second.sink.all.compactMap { if case .lockWaiting(let key, let holder) = $0.kind { (key, holder) } else { nil } }
        #expect(waiting.first?.0 == "deploy-phone")
        #expect(waiting.first?.1.contains("run \(firstResult.outcome.runID)") == true)
    }

    @Test func noWaitFailsAtOnce() async throws {
        let dir = TempDir()
        async let first = Harness.run(yaml, dir: dir)
        try await Task.sleep(for: .milliseconds(400))
        let second = try await Harness.run("concurrency: deploy-phone\nsteps:\n  - run: echo ran\n", dir: dir, noWait: true)
        _ = try await first
        #expect(second.outcome.status == .failed)
        #expect(second.outcome.error?.contains("lock 'deploy-phone' is held by run") == true)
        #expect(second.sink.output.isEmpty)
    }

    @Test func differentKeysDoNotBlock() async throws {
        let dir = TempDir()
        async let first = Harness.run(yaml, dir: dir)
        try await Task.sleep(for: .milliseconds(300))
        let second = try await Harness.run("concurrency: deploy-other\nsteps:\n  - run: true\n", dir: dir, noWait: true)
        _ = try await first
        #expect(second.outcome.status == .succeeded)
    }

    /// A holder killed with SIGKILL leaves its lock file behind; the kernel dropped the flock, so the next run proceeds.
    @Test func crashedHolderLockIsRecovered() async throws {
        let dir = TempDir()
        let lockDir = dir.path + "/locks"
        try FileManager.default.createDirectory(atPath: lockDir, withIntermediateDirectories: true)
        let lockFile = lockDir + "/deploy-phone.lock"
        // A separate process takes the lock (flock(1) from util-linux), writes a holder line and is killed.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        // A sleep nothing else runs, so the pkill below cannot hit another test's process.
        let sleeper = "sleep 60.\(Int.random(in: 100_000...999_999))"
        holder.arguments = ["-c", "exec flock \(lockFile) sh -c 'echo run DEAD of deploy > \(lockFile); \(sleeper)'"]
        try holder.run()
        try await Task.sleep(for: .milliseconds(300))
        let blocked = try await Harness.run("concurrency: deploy-phone\nsteps:\n  - run: true\n", dir: dir, noWait: true)
        #expect(blocked.outcome.status == .failed)
        #expect(blocked.outcome.error?.contains("run DEAD of deploy") == true)
        kill(-holder.processIdentifier, SIGKILL)
        kill(holder.processIdentifier, SIGKILL)
        _ = try? Process.run(URL(fileURLWithPath: "/usr/bin/pkill"), arguments: ["-9", "-f", sleeper]).waitUntilExit()
        holder.waitUntilExit()
        try await Task.sleep(for: .milliseconds(200))
        #expect(FileManager.default.fileExists(atPath: lockFile))
        let recovered = try await Harness.run("concurrency: deploy-phone\nsteps:\n  - run: true\n", dir: dir, noWait: true)
        #expect(recovered.outcome.status == .succeeded, "\(recovered.outcome.error ?? "")")
    }
}
