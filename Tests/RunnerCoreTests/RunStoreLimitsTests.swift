import Foundation
import Testing
@testable import RunnerCore

/// What one run keeps in the store (issue 10, item 14), retention, and reading history without
/// writing to the state directory.
@Suite(.serialized)
struct RunStoreLimitsTests {
    private let step = StepRef(name: "noisy", id: "noisy")

    private func record(_ sink: StoreSink, runID: String, lines: Int, of size: Int, outputs: [String: Value] = [:]) {
        sink.handle(Event(runID: runID, kind: .runStarted(pipeline: "p", file: "p.yml", params: [:], trigger: "cli")))
        sink.handle(Event(runID: runID, step: step, kind: .stepStarted))
        for i in 0..<lines {
            let text = String(i % 10) + String(repeating: "x", count: size - 1)
            sink.handle(Event(runID: runID, step: step, kind: .output(OutputLine(.stdout, text))))
        }
        sink.handle(Event(runID: runID, step: step, kind: .stepFinished(status: .ok, duration: .seconds(1), attempts: 1,
                                                                        exitCode: 0, outputs: outputs, error: nil)))
        sink.handle(Event(runID: runID, kind: .runFinished(status: .succeeded, duration: .seconds(1), counts: StepCounts(), error: nil)))
    }

    @Test func theLogBudgetCapsWhatARunKeepsAndSaysSo() throws {
        let dir = TempDir()
        let store = try RunStore(directory: dir.path)
        record(StoreSink(store: store, limits: .init(logBytes: 1000)), runID: "R1", lines: 100, of: 100)
        let logs = try store.logs(runID: "R1")
        let output = logs.filter { $0.stream == "stdout" }
        // Each line costs its 100 bytes, the step's name and the row's overhead.
        #expect(output.count == 1000 / (100 + 5 + StoreSink.Limits.rowOverhead))
        #expect(output.reduce(0) { $0 + $1.message.utf8.count } <= 1000)
        let markers = logs.filter { $0.message.hasPrefix("[runner] ") }.map(\.message)
        #expect(markers.count == 2)
        #expect(markers.first?.contains("log budget of 1000 bytes used up") == true)
        #expect(markers.last?.contains("96 lines (9.3 KiB) of output and log messages not kept") == true, "\(markers)")
        // Step and run events are kept past the budget.
        #expect(try store.steps(runID: "R1").count == 1)
        #expect(logs.last?.message.hasPrefix("run succeeded") == true)
        #expect(try store.run(matching: "R1")?.status == "succeeded")
    }

    @Test func underTheBudgetEverythingIsKeptWithoutMarkers() throws {
        let dir = TempDir()
        let store = try RunStore(directory: dir.path)
        record(StoreSink(store: store, limits: .init(logBytes: 30_000)), runID: "R1", lines: 100, of: 100)
        let logs = try store.logs(runID: "R1")
        #expect(logs.filter { $0.stream == "stdout" }.count == 100)
        #expect(!logs.contains { $0.message.hasPrefix("[runner] ") })
    }

    @Test func longOutputValuesKeepTheirEnd() throws {
        let dir = TempDir()
        let store = try RunStore(directory: dir.path)
        let long = String(repeating: "é", count: 50_000) + "END"  // 100 003 bytes
        record(StoreSink(store: store, limits: .init(valueBytes: 1000)), runID: "R1", lines: 0, of: 1,
               outputs: ["stdout": .string(long), "list": .list([.string(long)]), "n": .int(3)])
        let outputs = try #require(try store.steps(runID: "R1").first?.outputs)
        #expect(outputs.utf8.count < 2500)
        guard case .map(let map)? = try? JSON.decode(outputs), let stdout = map["stdout"]?.stringValue else {
            Issue.record("outputs are not JSON: \(outputs.prefix(200))")
            return
        }
        #expect(stdout.hasPrefix("[… 96.6 KiB not kept] éé"), "\(stdout.prefix(40))")
        #expect(stdout.hasSuffix("éEND"))
        #expect(map["n"] == .int(3))
    }

    @Test func piecesOfLongLinesAreStoredMarked() throws {
        let dir = TempDir()
        let store = try RunStore(directory: dir.path)
        let sink = StoreSink(store: store)
        sink.handle(Event(runID: "R1", kind: .runStarted(pipeline: "p", file: "p.yml", params: [:], trigger: "cli")))
        for (text, continues) in [("ab", true), ("cd", true), ("ef", false)] {
            sink.handle(Event(runID: "R1", step: step, kind: .output(OutputLine(.stdout, text, continues: continues))))
        }
        sink.handle(Event(runID: "R1", kind: .runFinished(status: .succeeded, duration: .seconds(1), counts: StepCounts(), error: nil)))
        let pieces = try store.logs(runID: "R1").filter { $0.stream == "stdout" }
        #expect(pieces.map(\.message) == ["ab", "cd", "ef"])
        #expect(pieces.map(\.continues) == [true, true, false])
    }

    @Test func pruneDeletesOldRunsWithTheirStepsAndLogs() throws {
        let dir = TempDir()
        let store = try RunStore(directory: dir.path)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        func add(_ id: String, daysAgo: Double, status: String) throws {
            try store.insertRun(RunRecord(id: id, pipeline: "p", file: "p.yml", status: status,
                                          startedAt: now.addingTimeInterval(-daysAgo * 86_400)))
            try store.insertStep(StepRecord(runID: id, seq: 1, name: "s", status: "ok", startedAt: now, finishedAt: now))
            try store.appendLogs([LogRecord(runID: id, seq: 1, ts: now, message: "m")])
        }
        try add("OLD", daysAgo: 40, status: "succeeded")
        try add("OLDRUNNING", daysAgo: 40, status: "running")
        try add("NEW", daysAgo: 10, status: "failed")
        try add("JUSTSTARTED", daysAgo: 0.1, status: "running")
        #expect(try store.prune(startedBefore: now.addingTimeInterval(-30 * 86_400), now: now) == 2)
        #expect(try store.runs().map(\.id).sorted() == ["JUSTSTARTED", "NEW"])
        #expect(try store.logs(runID: "OLD").isEmpty && store.steps(runID: "OLD").isEmpty)
        // Even with a cutoff in the future, a run still going on is kept for a day.
        #expect(try store.prune(startedBefore: now.addingTimeInterval(3600), now: now) == 1)
        #expect(try store.runs().map(\.id) == ["JUSTSTARTED"])
        try store.vacuum()
    }

    @Test func compactingGivesTheSpaceOfPrunedRunsBack() throws {
        let dir = TempDir()
        let store = try RunStore(directory: dir.path)
        try store.insertRun(RunRecord(id: "BIG", pipeline: "p", file: "p.yml", status: "succeeded", startedAt: Date(timeIntervalSince1970: 0)))
        let text = String(repeating: "x", count: 1000)
        try store.appendLogs((1...3000).map { LogRecord(runID: "BIG", seq: $0, ts: Date(), message: text) })
        let before = store.fileSize
        #expect(before > 3_000_000)
        #expect(try store.prune(startedBefore: Date()) == 1)
        try store.vacuum()
        #expect(store.fileSize < 200_000, "\(before) → \(store.fileSize)")
    }

    @Test func readingHistoryWritesNothingToTheStateDirectory() throws {
        let dir = TempDir()
        do {
            let store = try RunStore(directory: dir.path)
            try store.insertRun(RunRecord(id: "R1", pipeline: "p", file: "p.yml", startedAt: Date()))
        }
        try FileManager.default.removeItem(atPath: dir.path + "/runs.lock")
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let reader = try RunStore(readingFrom: dir.path)
        #expect(try reader.runs().map(\.id) == ["R1"])
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/runs.lock"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().allSatisfy { before.contains($0) || $0.hasSuffix("-shm") || $0.hasSuffix("-wal") })
        #expect(throws: RunStoreError.self) { try reader.insertRun(RunRecord(id: "R2", pipeline: "p", file: "p.yml", startedAt: Date())) }
        #expect(!RunStore.exists(in: dir.path + "/none"))
        #expect(throws: RunStoreError.self) { try RunStore(readingFrom: dir.path + "/none") }
    }

    /// A store written before log pieces existed (schema v1) reads without being migrated.
    @Test func readsAStoreOfTheFirstSchema() throws {
        let dir = TempDir()
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1] + "/runs.sqlite")
            db.executescript('''
            CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
            INSERT INTO grdb_migrations VALUES ('v1');
            CREATE TABLE runs (id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, file TEXT NOT NULL, params TEXT NOT NULL DEFAULT '{}',
              trigger TEXT NOT NULL, status TEXT NOT NULL, startedAt DATETIME NOT NULL, finishedAt DATETIME, error TEXT, user TEXT, hostname TEXT);
            CREATE TABLE logs (runID TEXT NOT NULL, seq INTEGER NOT NULL, ts DATETIME NOT NULL, level TEXT NOT NULL, step TEXT,
              host TEXT, stream TEXT, message TEXT NOT NULL, PRIMARY KEY (runID, seq));
            INSERT INTO runs VALUES ('R1', 'p', 'p.yml', '{}', 'cli', 'succeeded', '2026-01-01 00:00:00.000', NULL, NULL, NULL, NULL);
            INSERT INTO logs VALUES ('R1', 1, '2026-01-01 00:00:00.000', 'info', 's', NULL, 'stdout', 'old line');
            ''')
            db.commit()
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script, dir.path]
        try python.run()
        python.waitUntilExit()
        #expect(python.terminationStatus == 0)
        let reader = try RunStore(readingFrom: dir.path)
        let logs = try reader.logs(runID: "R1")
        #expect(logs.map(\.message) == ["old line"] && logs.map(\.continues) == [false])
        // Runs read without the holder columns (added in v3), and none is taken for a dead holder's.
        #expect(try reader.runs().map(\.id) == ["R1"])
        #expect(try reader.runsWithGoneHolders().isEmpty)
        // The next writer migrates it.
        #expect(try RunStore(directory: dir.path).appliedMigrations() == ["v1", "v2-log-pieces", "v3-run-holder"])
    }

    @Test func byteCounts() {
        #expect(ByteCount.parse("16MiB") == 16 << 20)
        #expect(ByteCount.parse("512k") == 512 << 10)
        #expect(ByteCount.parse(" 2 GB ") == 2 << 30)
        #expect(ByteCount.parse("1000") == 1000)
        for bad in ["", "-1", "1.5M", "12 parsecs", "M", "99999999999999999999G"] { #expect(ByteCount.parse(bad) == nil, "\(bad)") }
        #expect(ByteCount.format(16 << 20) == "16 MiB")
        #expect(ByteCount.format(1536 << 10) == "1.5 MiB")
        #expect(ByteCount.format(1000) == "1000 bytes")
    }
}
