import Foundation
import Testing
@testable import RunnerCore

/// Crash reconciliation: a run left `running` by a runner that is gone becomes `interrupted`
/// when a store is opened for writing; a run whose runner is alive, or that cannot be judged
/// here, stays `running`.
@Suite struct RunStoreReconcileTests {
    private func running(_ id: String, holder: RunHolder?, hostname: String? = StoreSink.hostname) -> RunRecord {
        RunRecord(id: id, pipeline: "p", file: "p.yml", startedAt: Date(), hostname: hostname, holder: holder)
    }

    /// The pid of a process that has exited and been reaped.
    private func deadPid() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func runsWhoseHolderIsGoneAreInterruptedOnOpen() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reconcile-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let me = RunHolder.current
        #expect(me.bootID != nil && me.startTime != nil, "this test needs /proc")
        do {
            let store = try RunStore(directory: dir)
            try store.insertRun(running("ALIVE", holder: me))
            try store.insertRun(running("DEAD", holder: RunHolder(pid: try deadPid(), bootID: me.bootID, startTime: me.startTime)))
            try store.insertRun(running("REUSED", holder: RunHolder(pid: me.pid, bootID: me.bootID, startTime: (me.startTime ?? 0) + 1)))
            try store.insertRun(running("REBOOTED", holder: RunHolder(pid: me.pid, bootID: "another-boot", startTime: me.startTime)))
            try store.insertRun(running("OLD", holder: nil))
            try store.insertRun(running("ELSEWHERE", holder: RunHolder(pid: try deadPid(), bootID: "x", startTime: 1),
                                        hostname: StoreSink.hostname + "-other"))
            var done = running("DONE", holder: RunHolder(pid: try deadPid(), bootID: me.bootID, startTime: 1))
            done.status = RunStatus.succeeded.rawValue
            try store.insertRun(done)
        }
        let before = Date()
        let store = try RunStore(directory: dir)
        func status(_ id: String) throws -> String? { try store.run(matching: id)?.status }
        for id in ["DEAD", "REUSED", "REBOOTED"] {
            let run = try #require(try store.run(matching: id))
            #expect(run.status == "interrupted", "\(id)")
            #expect(run.error == RunStore.interruptedNote, "\(id)")
            #expect((run.finishedAt ?? .distantPast) >= before.addingTimeInterval(-1), "\(id)")
        }
        #expect(try status("ALIVE") == "running")
        #expect(try status("OLD") == "running")
        #expect(try status("ELSEWHERE") == "running")
        #expect(try status("DONE") == "succeeded")
        #expect(try store.reconcileInterruptedRuns().isEmpty, "nothing left to mark")
    }
}
