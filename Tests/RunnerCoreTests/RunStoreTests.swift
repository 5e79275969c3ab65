import Foundation
import Testing
@testable import RunnerCore

/// A fresh directory under the system temp dir, removed after `body`.
private func withTempDirectory<T>(_ body: (String) async throws -> T) async rethrows -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runstore-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try await body(dir)
}

/// Whole seconds, so that dates compare equal after the millisecond round trip.
private let t0 = Date(timeIntervalSince1970: 1_700_000_000)

private func run(_ id: String, pipeline: String = "deploy", at offset: TimeInterval = 0) -> RunRecord {
    RunRecord(id: id, pipeline: pipeline, file: "pipelines/\(pipeline).yml", params: #"{"env":"prod"}"#,
              trigger: "cli", startedAt: t0.addingTimeInterval(offset), user: "ops", hostname: "build1")
}

private func step(_ runID: String, seq: Int, name: String? = nil) -> StepRecord {
    StepRecord(runID: runID, seq: seq, stepID: "s\(seq)", name: name ?? "step \(seq)", host: "web1",
               status: "changed", startedAt: t0, finishedAt: t0.addingTimeInterval(2), attempts: 2,
               exitCode: 0, outputs: #"{"n":1}"#)
}

private func log(_ runID: String, seq: Int, _ message: String = "line") -> LogRecord {
    LogRecord(runID: runID, seq: seq, ts: t0.addingTimeInterval(Double(seq)), level: "info",
              step: "build", host: "web1", stream: "stdout", message: message)
}

@Suite("RunID")
struct RunIDTests {
    @Test func formatAndRoundTrip() throws {
        let date = Date(timeIntervalSince1970: 1_700_000_000.123)
        let id = RunID.generate(at: date)
        #expect(id.description.count == 26)
        #expect(id.description.allSatisfy { "0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains($0) })
        #expect(abs(id.date.timeIntervalSince(date)) < 0.001)
        #expect(RunID(id.description) == id)
        #expect(RunID(id.description.lowercased()) == id)
    }

    @Test func encodesTimestampFirst() {
        // 1_700_000_000_123 ms = 0x18BCFE5687B in base32, 10 digits.
        let id = RunID.generate(at: Date(timeIntervalSince1970: 1_700_000_000.123))
        #expect(id.description.hasPrefix("01HF7YAT3V"))
        #expect(RunID.generate(at: Date(timeIntervalSince1970: 0)).description.hasPrefix("0000000000"))
        #expect(RunID.generate(at: Date(timeIntervalSince1970: -5)).date == Date(timeIntervalSince1970: 0))
    }

    @Test func sortsByCreationTime() {
        let dates = (0..<50).map { t0.addingTimeInterval(Double($0) * 0.75) }.shuffled()
        let ids = dates.map { RunID.generate(at: $0) }
        let byString = ids.sorted { $0.description < $1.description }
        #expect(byString.map(\.date) == dates.sorted())
        #expect(ids.sorted() == byString)
    }

    @Test func monotonicWithinOneMillisecond() {
        let generator = RunIDGenerator()  // not the shared one, which other tests use meanwhile
        let ids = (0..<1000).map { _ in generator.next(at: t0) }
        #expect(Set(ids).count == 1000)
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.date == t0 })
    }

    @Test(arguments: [
        "", "01HF7YAT5V", "01HF7YAT5VXXXXXXXXXXXXXXXXX", "01HF7YAT5VXXXXXXXXXXXXXXXI",
        "01HF7YAT5VXXXXXXXXXXXXXXXL", "01HF7YAT5VXXXXXXXXXXXXXXXO", "01HF7YAT5VXXXXXXXXXXXXXXXU",
        "01HF7YAT5V-XXXXXXXXXXXXXXX", "80000000000000000000000000",
    ])
    func rejectsInvalid(_ text: String) {
        #expect(RunID(text) == nil)
    }

    @Test func acceptsLargestID() {
        #expect(RunID("7ZZZZZZZZZZZZZZZZZZZZZZZZZ") != nil)
    }
}

@Suite("RunStore")
struct RunStoreTests {
    @Test func storesAndFinishesRuns() async throws {
        try await withTempDirectory { dir in
            let store = try RunStore(directory: dir)
            let record = run("01AAAA")
            try store.insertRun(record)
            #expect(try store.run(matching: "01AAAA") == record)

            try store.finishRun(id: "01AAAA", status: "failed", finishedAt: t0.addingTimeInterval(9), error: "step 'x' failed")
            let finished = try #require(try store.run(matching: "01AAAA"))
            #expect(finished.status == "failed")
            #expect(finished.finishedAt == t0.addingTimeInterval(9))
            #expect(finished.error == "step 'x' failed")
            #expect(finished.params == #"{"env":"prod"}"#)

            #expect(throws: RunStoreError.runNotFound(id: "nope")) {
                try store.finishRun(id: "nope", status: "succeeded")
            }
            #expect(throws: RunStoreError.alreadyExists("run 01AAAA")) { try store.insertRun(record) }
        }
    }

    @Test func keepsMilliseconds() async throws {
        try await withTempDirectory { dir in
            let store = try RunStore(directory: dir)
            try store.insertRun(run("A", at: 0.004))
            try store.insertRun(run("B", at: 0.002))
            let runs = try store.runs()
            #expect(runs.map(\.id) == ["A", "B"])
            #expect(abs(runs[0].startedAt.timeIntervalSince(t0) - 0.004) < 0.0005)
        }
    }

    @Test func listsNewestFirstByPipelineWithLimit() async throws {
        try await withTempDirectory { dir in
            let store = try RunStore(directory: dir)
            try store.insertRun(run("R1", pipeline: "deploy", at: 10))
            try store.insertRun(run("R3", pipeline: "backup", at: 30))
            try store.insertRun(run("R2", pipeline: "deploy", at: 20))
            try store.insertRun(run("R5", pipeline: "deploy", at: 40))
            try store.insertRun(run("R4", pipeline: "deploy", at: 40))  // same start: id breaks the tie

            #expect(try store.runs().map(\.id) == ["R5", "R4", "R3", "R2", "R1"])
            #expect(try store.runs(pipeline: "deploy", limit: 3).map(\.id) == ["R5", "R4", "R2"])
            #expect(try store.runs(pipeline: "backup", limit: 10).map(\.id) == ["R3"])
            #expect(try store.runs(pipeline: "nothing", limit: 10).isEmpty)
            #expect(try store.runs(limit: 0).isEmpty)
        }
    }

    @Test func resolvesIDsAndPrefixes() async throws {
        try await withTempDirectory { dir in
            let store = try RunStore(directory: dir)
            try store.insertRun(run("01HF7YAT5VAAAAAAAAAAAAAAAA", at: 1))
            try store.insertRun(run("01HF7YAT5VAAAAAAAAAAAAAAAB", at: 2))
            try store.insertRun(run("01HF7ZZZZZCCCCCCCCCCCCCCCC", at: 3))
            try store.insertRun(run("01HF8000000000000000000000", at: 0))

            #expect(try store.run(matching: "01HF7YAT5VAAAAAAAAAAAAAAAB")?.id == "01HF7YAT5VAAAAAAAAAAAAAAAB")
            #expect(try store.run(matching: "01HF7Z")?.id == "01HF7ZZZZZCCCCCCCCCCCCCCCC")
            #expect(try store.run(matching: "01hf7z")?.id == "01HF7ZZZZZCCCCCCCCCCCCCCCC")
            #expect(try store.run(matching: " 01HF8 ")?.id == "01HF8000000000000000000000")
            #expect(try store.run(matching: "01HF7YAT5VAAAAAAAAAAAAAAAA")?.id == "01HF7YAT5VAAAAAAAAAAAAAAAA")
            #expect(try store.run(matching: "last")?.id == "01HF7ZZZZZCCCCCCCCCCCCCCCC")
            #expect(try store.run(matching: "01HG") == nil)
            #expect(try store.run(matching: "") == nil)
            #expect(try store.run(matching: "*") == nil)
            #expect(try store.run(matching: "01HF7?") == nil)

            #expect(throws: RunStoreError.ambiguousID(prefix: "01HF7", matches: 3)) {
                try store.run(matching: "01HF7")
            }
            #expect(throws: RunStoreError.ambiguousID(prefix: "01hf7yat5v", matches: 2)) {
                try store.run(matching: "01hf7yat5v")
            }
            let message = RunStoreError.ambiguousID(prefix: "01HF7", matches: 3).description
            #expect(message == "run id '01HF7' is ambiguous: it matches 3 runs; give more characters")
        }
    }

    @Test func lastOnEmptyStoreIsNil() async throws {
        try await withTempDirectory { dir in
            let store = try RunStore(directory: dir)
            #expect(try store.run(matching: "last") == nil)
        }
    }

    @Test func stepsAndLogsComeBackInSeqOrderPerRun() async throws {
        try await withTempDirectory { dir in
            let store = try RunStore(directory: dir)
            try store.insertRun(run("A"))
            try store.insertRun(run("B", at: 1))
            for seq in [3, 1, 2] { try store.insertStep(step("A", seq: seq)) }
            try store.insertStep(step("B", seq: 1, name: "other"))
            try store.appendLogs([log("A", seq: 2, "two"), log("A", seq: 0, "zero")])
            try store.appendLogs([log("B", seq: 0, "b"), log("A", seq: 1, "one")])
            try store.appendLogs([])

            let steps = try store.steps(runID: "A")
            #expect(steps.map(\.seq) == [1, 2, 3])
            #expect(steps.first == step("A", seq: 1))
            #expect(try store.steps(runID: "B").map(\.name) == ["other"])
            #expect(try store.logs(runID: "A").map(\.message) == ["zero", "one", "two"])
            #expect(try store.logs(runID: "A").first == log("A", seq: 0, "zero"))
            #expect(try store.logs(runID: "B").map(\.message) == ["b"])
            #expect(try store.steps(runID: "C").isEmpty)
        }
    }

    @Test func logBatchIsAllOrNothing() async throws {
        try await withTempDirectory { dir in
            let store = try RunStore(directory: dir)
            try store.insertRun(run("A"))
            try store.appendLogs([log("A", seq: 1)])
            #expect(throws: RunStoreError.alreadyExists("log line 1 of run A")) {
                try store.appendLogs([log("A", seq: 2), log("A", seq: 1), log("A", seq: 3)])
            }
            #expect(try store.logs(runID: "A").map(\.seq) == [1])
        }
    }

    @Test func rejectsStepsAndLogsOfUnknownRuns() async throws {
        try await withTempDirectory { dir in
            let store = try RunStore(directory: dir)
            try store.insertRun(run("A"))
            #expect(throws: RunStoreError.runNotFound(id: "ghost")) { try store.insertStep(step("ghost", seq: 1)) }
            #expect(throws: RunStoreError.runNotFound(id: "ghost")) {
                try store.appendLogs([log("A", seq: 1), log("ghost", seq: 1)])
            }
            #expect(try store.logs(runID: "A").isEmpty)
            try store.insertStep(step("A", seq: 1))
            #expect(throws: RunStoreError.alreadyExists("step 1 of run A")) { try store.insertStep(step("A", seq: 1)) }
        }
    }

    @Test func twoStoresWriteConcurrently() async throws {
        try await withTempDirectory { dir in
            let stores = [try RunStore(directory: dir), try RunStore(directory: dir)]
            let runsPerWriter = 40
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (w, store) in stores.enumerated() {
                    group.addTask {
                        for r in 0..<runsPerWriter {
                            let id = RunID.generate().description
                            try store.insertRun(RunRecord(id: id, pipeline: "p\(w)", file: "f.yml", startedAt: Date()))
                            try store.insertStep(step(id, seq: 1))
                            for batch in 0..<4 {
                                try store.appendLogs((0..<25).map { log(id, seq: batch * 25 + $0, "w\(w) r\(r)") })
                            }
                            try store.finishRun(id: id, status: "succeeded")
                        }
                    }
                }
                try await group.waitForAll()
            }

            let reader = try RunStore(directory: dir)
            let runs = try reader.runs(limit: 1000)
            #expect(runs.count == 2 * runsPerWriter)
            #expect(try reader.runs(pipeline: "p0", limit: 1000).count == runsPerWriter)
            #expect(runs.allSatisfy { $0.status == "succeeded" && $0.finishedAt != nil })
            for record in runs {
                #expect(try reader.steps(runID: record.id).count == 1)
                #expect(try reader.logs(runID: record.id).map(\.seq) == Array(0..<100))
            }
        }
    }

    @Test func storesOpenedConcurrentlyOnANewDirectoryMigrateOnce() async throws {
        for _ in 0..<20 {
            try await withTempDirectory { dir in
                let dir = dir + "/nested/state"
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<4 {
                        group.addTask {
                            let store = try RunStore(directory: dir)
                            try store.insertRun(run("R\(i)", at: Double(i)))
                        }
                    }
                    try await group.waitForAll()
                }
                let store = try RunStore(directory: dir)
                #expect(try store.runs().map(\.id) == ["R3", "R2", "R1", "R0"])
                #expect(try store.appliedMigrations() == ["v1", "v2-log-pieces", "v3-run-holder"])
            }
        }
    }

    @Test func reopensAnExistingStore() async throws {
        try await withTempDirectory { dir in
            do {
                let store = try RunStore(directory: dir)
                try store.insertRun(run("A"))
                try store.appendLogs([log("A", seq: 0)])
            }
            let store = try RunStore(directory: dir)
            #expect(try store.appliedMigrations() == ["v1", "v2-log-pieces", "v3-run-holder"])
            #expect(try store.run(matching: "A") == run("A"))
            #expect(try store.logs(runID: "A").count == 1)
            try store.insertRun(run("B", at: 5))
            #expect(try store.run(matching: "last")?.id == "B")
        }
    }

    @Test func migratesAnEmptyExistingFile() async throws {
        try await withTempDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: dir + "/runs.sqlite", contents: Data()))
            let store = try RunStore(directory: dir)
            #expect(try store.appliedMigrations() == ["v1", "v2-log-pieces", "v3-run-holder"])
            try store.insertRun(run("A"))
            #expect(try store.runs().count == 1)
        }
    }

    @Test func createsPrivateDirectory() async throws {
        try await withTempDirectory { dir in
            let nested = dir + "/a/b"
            let store = try RunStore(directory: nested)
            #expect(store.path == nested + "/runs.sqlite")
            #expect(FileManager.default.fileExists(atPath: store.path))
            for created in [dir, dir + "/a", nested] {
                let attributes = try FileManager.default.attributesOfItem(atPath: created)
                #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700, "\(created)")
            }
        }
    }

    @Test func openErrorsAreShortAndNameThePath() async throws {
        try await withTempDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let file = dir + "/plain"
            #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
            #expect(throws: RunStoreError.cannotOpen(path: file + "/runs.sqlite", reason: "\(file) is not a directory")) {
                try RunStore(directory: file)
            }

            let garbage = dir + "/garbage"
            try FileManager.default.createDirectory(atPath: garbage, withIntermediateDirectories: true)
            let junk = Data(repeating: 0x41, count: 4096)
            #expect(FileManager.default.createFile(atPath: garbage + "/runs.sqlite", contents: junk))
            let error = #expect(throws: RunStoreError.self) { try RunStore(directory: garbage) }
            #expect(error?.description == "cannot open run store at \(garbage)/runs.sqlite: file is not a database")
        }
    }

    @Test func defaultDirectory() {
        let resolve = RunStore.defaultDirectory(environment:)
        #expect(resolve(["RUNNER_STATE_DIR": "/srv/runner", "XDG_STATE_HOME": "/x", "HOME": "/h"]) == "/srv/runner")
        #expect(resolve(["RUNNER_STATE_DIR": "", "XDG_STATE_HOME": "/x/state/", "HOME": "/h"]) == "/x/state/runner")
        #expect(resolve(["XDG_STATE_HOME": "relative", "HOME": "/home/me"]) == "/home/me/.local/state/runner")
        #expect(resolve(["HOME": "/home/me"]) == "/home/me/.local/state/runner")
        #expect(resolve([:]).hasSuffix("/.local/state/runner"))
    }
}
