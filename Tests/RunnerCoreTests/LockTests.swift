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
        try await waitForHolder(dir)
        let second = try await Harness.run("concurrency: deploy-phone\nsteps:\n  - run: true\n", dir: dir)
        let firstResult = try await first
        #expect(firstResult.outcome.status == .succeeded)
        #expect(second.outcome.status == .succeeded)
        let waiting = second.sink.all.compactMap { if case .lockWaiting(let key, let holder) = $0.kind { (key, holder) } else { nil } }
        #expect(waiting.first?.0 == "deploy-phone")
        #expect(waiting.first?.1.contains("run \(firstResult.outcome.runID)") == true)
    }

    @Test func noWaitFailsAtOnce() async throws {
        let dir = TempDir()
        async let first = Harness.run(yaml, dir: dir)
        try await waitForHolder(dir)
        let second = try await Harness.run("concurrency: deploy-phone\nsteps:\n  - run: echo ran\n", dir: dir, noWait: true)
        _ = try await first
        #expect(second.outcome.status == .failed)
        #expect(second.outcome.error?.contains("lock 'deploy-phone' is held by run") == true)
        #expect(second.sink.output.isEmpty)
        // Not started: exit 75 (busy, try again), and the run is not announced.
        #expect(second.outcome.notStarted == .lockHeld)
        #expect(second.outcome.exitCode == 75)
        #expect(!second.sink.all.contains { if case .runStarted = $0.kind { true } else { false } })
    }

    @Test func differentKeysDoNotBlock() async throws {
        let dir = TempDir()
        async let first = Harness.run(yaml, dir: dir)
        try await waitForHolder(dir)
        let second = try await Harness.run("concurrency: deploy-other\nsteps:\n  - run: true\n", dir: dir, noWait: true)
        _ = try await first
        #expect(second.outcome.status == .succeeded)
    }

    /// A holder killed with SIGKILL leaves its lock file behind; the kernel dropped the flock, so the next run proceeds.
    @Test func crashedHolderLockIsRecovered() async throws {
        let dir = TempDir()
        let lockDir = dir.path + "/locks"
        try FileManager.default.createDirectory(atPath: lockDir, withIntermediateDirectories: true)
        let lockFile = lockDir + "/" + RunLock.fileName(for: "deploy-phone")
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

    /// A lock file is named by a digest: a secret in the key shows neither in the name nor in
    /// the holder record, and keys of any characters map to fixed-size names.
    @Test func lockFilesShowNoPartOfTheKey() async throws {
        let dir = TempDir()
        let r = try await Harness.run("""
            params:
              pw: { secret: true }
            concurrency: lock-${{ params.pw }}
            steps:
              - run: echo ran
            """, params: ["pw": "hunter2-Zq"], dir: dir)
        #expect(r.outcome.status == .succeeded, "\(r.outcome.error ?? "")")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/locks")
        #expect(names == [RunLock.fileName(for: "lock-hunter2-Zq")])
        for name in names {
            #expect(!name.contains("hunter2"))
            #expect(dir.read("locks/" + name)?.contains("hunter2") == false)
        }
        #expect(RunLock.fileName(for: "a/../b") == RunLock.fileName(for: "a/../b"))
        #expect(RunLock.fileName(for: String(repeating: "é", count: 127)).count == 69)
        #expect(RunLock.fileName(for: "lock-a") != RunLock.fileName(for: "lock-b"))
    }

    /// A key known when the file loads is checked then (file:line:column); a key built from
    /// params is checked before anything runs.
    @Test func keysAreCheckedAtLoadAndBeforeTheRun() async throws {
        func problems(_ yaml: String) -> [String] {
            let dir = TempDir()
            return Harness.diagnostics(yaml, in: dir).map { $0.description.replacingOccurrences(of: dir.path + "/", with: "") }
        }
        #expect(problems("concurrency: ' '\nsteps:\n  - run: true\n") == ["p.yml:1:14: the concurrency key is empty"])
        #expect(problems("concurrency: \(String(repeating: "k", count: 256))\nsteps:\n  - run: true\n")
            == ["p.yml:1:14: the concurrency key is 256 bytes long; the limit is 255"])
        let fixed = problems("concurrency: \(String(repeating: "k", count: 300))-${{ params.a }}\nparams: { a: {} }\nsteps:\n  - run: true\n")
        #expect(fixed == ["p.yml:1:14: the concurrency key's fixed text is 301 bytes long; the limit is 255"])
        #expect(problems("concurrency: \(String(repeating: "k", count: 255))\nsteps:\n  - run: true\n").isEmpty)

        let dir = TempDir()
        let r = try await Harness.run("""
            params:
              key: {}
            concurrency: ${{ params.key }}
            steps:
              - run: echo ran > \(dir.path)/ran
            """, params: ["key": .string(String(repeating: "x", count: 300))], dir: dir)
        #expect(r.outcome.status == .failed)
        #expect(r.outcome.error?.hasSuffix("pipeline.yml:3:14: the concurrency key is 300 bytes long; the limit is 255") == true, "\(r.outcome.error ?? "")")
        #expect(dir.read("ran") == nil)
    }

    /// Waits until a run holds the `deploy-phone` lock (its holder record is written).
    private func waitForHolder(_ dir: TempDir) async throws {
        try await waitFor { dir.read("locks/" + RunLock.fileName(for: "deploy-phone"))?.contains("pid: ") == true }
    }
}
