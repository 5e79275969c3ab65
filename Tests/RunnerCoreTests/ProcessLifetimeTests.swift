#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import RunnerCore

/// Nothing a run starts outlives it: leftovers of a stopped command, background processes at the
/// end of a run, and the `concurrency:` lock their descriptors keep held.
@Suite(.serialized) struct ProcessLifetimeTests {
    /// A step's timeout stops what left the process group too: `setsid` (the issue's reproduction)
    /// and a process that made its own group (`setpgrp`), beside an ordinary background child.
    @Test func timeoutStopsWhatLeftTheGroup() async throws {
        let marks = Marks(3)
        defer { marks.kill() }  // even when the test fails
        let processes = RunProcesses()
        let script = """
            setsid sleep \(marks[0]) &
            perl -e 'setpgrp(0, 0); sleep 3600' \(marks[1]) &
            sleep \(marks[2]) &
            sleep 60
            """
        let result = try await LocalTarget(processes: processes).run(
            Command(.shell(script), timeout: .milliseconds(500), killGrace: .milliseconds(200))) { _ in }
        #expect(result.timedOut)
        #expect(marks.running() == [], "left running after the timeout: \(marks.running())")
    }

    /// Cancelling the calling task is a stop too.
    @Test func cancellationStopsWhatLeftTheGroup() async throws {
        let marks = Marks(1)
        defer { marks.kill() }  // even when the test fails
        let dir = TempDir()
        let processes = RunProcesses()
        let task = Task {
            try await LocalTarget(processes: processes).run(
                Command(.shell("setsid sleep \(marks[0]) & echo > \(dir.path)/started; sleep 60"), killGrace: .milliseconds(200))) { _ in }
        }
        try await waitFor { dir.read("started") != nil }
        #expect(marks.running().count == 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(marks.running() == [])
    }

    /// A command that succeeds keeps its background processes for the later steps; the end of
    /// the run stops them: `sleep &` (the issue's reproduction), `nohup sh -c …`, and a double
    /// fork into a new session. The run says what it stopped.
    @Test func theEndOfARunStopsItsBackgroundProcesses() async throws {
        let marks = Marks(3)
        defer { marks.kill() }  // even when the test fails
        let dir = TempDir()
        let r = try await Harness.run("""
            steps:
              - run: |
                  sleep \(marks[0]) &
                  echo $! > \(dir.path)/first
                  nohup sh -c 'sleep \(marks[1]); :' > /dev/null 2>&1 &
                  ( setsid sh -c 'sleep \(marks[2]); :' & )
              - run: kill -0 "$(cat \(dir.path)/first)"
            """, dir: dir)
        #expect(r.outcome.status == .succeeded, "\(r.outcome.error ?? "")")
        #expect(marks.running() == [], "left running after the run: \(marks.running())")
        let warning = r.sink.transcript.split(separator: "\n").first { $0.contains("the run left running") }
        #expect(warning?.contains("(sleep)") == true, "\(r.sink.transcript)")
    }

    /// One run's end does not touch another run's processes, nor processes outside any run.
    @Test func otherRunsAreLeftAlone() async throws {
        let marks = Marks(3)
        defer { marks.kill() }  // even when the test fails
        let first = RunProcesses(), second = RunProcesses()
        _ = try await LocalTarget(processes: first).run(Command(.shell("sleep \(marks[0]) &"))) { _ in }
        _ = try await LocalTarget(processes: second).run(Command(.shell("sleep \(marks[1]) &"))) { _ in }
        _ = try await LocalTarget().run(Command(.shell("sleep \(marks[2]) &"))) { _ in }
        #expect(marks.running().count == 3)
        let stopped = await first.stopLeftovers()
        #expect(stopped.count == 1)
        #expect(marks.running(0) == [] && marks.running(1).count == 1 && marks.running(2).count == 1)
        await second.stopLeftovers()
        #expect(marks.running(1) == [] && marks.running(2).count == 1)
    }

    /// A command inherits its own run's lock descriptors, and only those.
    @Test func commandsInheritOnlyTheirRunsLocks() async throws {
        let dir = TempDir()
        let mine = RunProcesses(), other = RunProcesses()
        let lock = try await RunLock.acquire(key: "inherit", directory: dir.path, holder: "test", processes: mine,
                                             wait: false) { _ in }
        let lockFile = "/" + RunLock.fileName(for: "inherit")
        func openFiles(_ target: LocalTarget) async throws -> String {
            try await target.run(Command(.shell("for f in /proc/$$/fd/*; do readlink \"$f\"; done"))) { _ in }.stdout
        }
        #expect(try await openFiles(LocalTarget(processes: mine)).contains(lockFile))
        #expect(try await !openFiles(LocalTarget(processes: other)).contains(lockFile))
        #expect(try await !openFiles(LocalTarget()).contains(lockFile))
        lock.release()
        #expect(try await !openFiles(LocalTarget(processes: mine)).contains(lockFile))
    }

    /// The lock stays held while a process of the run holds it, after the runner let go of its
    /// own copy (as when the runner is killed); stopping the leftovers frees it.
    @Test func aLockStaysHeldWhileTheRunsProcessesRun() async throws {
        let dir = TempDir()
        let marks = Marks(1)
        defer { marks.kill() }  // even when the test fails
        let processes = RunProcesses()
        let lock = try await RunLock.acquire(key: "outlive", directory: dir.path, holder: "run R of p", processes: processes,
                                             wait: false) { _ in }
        _ = try await LocalTarget(processes: processes).run(Command(.shell("setsid sleep \(marks[0]) &"))) { _ in }
        lock.release()
        await #expect(throws: RunLock.Failure.self) {
            _ = try await RunLock.acquire(key: "outlive", directory: dir.path, holder: "second", wait: false) { _ in }
        }
        await processes.stopLeftovers()
        let again = try await RunLock.acquire(key: "outlive", directory: dir.path, holder: "second", wait: false) { _ in }
        again.release()
    }
}

/// Unique `sleep` durations that name the processes a test starts, so it can find them in /proc
/// without touching anything else on the machine.
struct Marks {
    private let values: [String]

    init(_ count: Int) {
        let base = Int.random(in: 100_000...999_999)
        values = (0..<count).map { "\(3000 + $0).\(base)" }
    }

    subscript(index: Int) -> String { values[index] }

    /// Live (not zombie) processes whose command line holds a mark (all marks when nil).
    func running(_ index: Int? = nil) -> [pid_t] {
        let wanted = index.map { [values[$0]] } ?? values
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let words = String(decoding: data, as: UTF8.self).split(separator: "\0")
            return words.contains { word in wanted.contains(String(word)) } && isAlive(pid)
        }.sorted()
    }

    func kill() {
        for pid in running() { _ = Glibc.kill(pid, SIGKILL) }
    }
}

/// Polls `condition` every 20 ms, failing after 10 s.
func waitFor(_ condition: () -> Bool, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
    for _ in 0..<500 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("condition not met within 10 s", sourceLocation: sourceLocation)
}
