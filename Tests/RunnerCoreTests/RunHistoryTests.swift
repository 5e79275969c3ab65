import Foundation
import Testing
@testable import RunnerCore

/// `uses: history` and `runner.history.last` against a real SQLite store, through the engine
/// (issue 11, item 3).
@Suite struct RunHistoryTests {
    /// A small `deploy`: its `pull` step outputs the commit and a secret; `fail=yes` fails it.
    static let deploy = """
        name: deploy
        params:
          app: { required: true }
          commit: { default: c0 }
          fail: { default: "no" }
          token: { default: "s3cr3t-t0ken", secret: true }
        steps:
          - id: pull
            name: pull
            lua: return { commit = params.commit, token = params.token }
          - name: check
            lua: if params.fail == 'yes' then runner.fail('broken release') end
        """

    /// A store holding four deploys: a c1 (ok), b c2 (ok), a c3 (ok), a c4 (failed). Returns their ids.
    static func history(_ store: RunStore) async throws -> [String] {
        var ids: [String] = []
        for (app, commit, fail) in [("a", "c1", "no"), ("b", "c2", "no"), ("a", "c3", "no"), ("a", "c4", "yes")] {
            let result = try await Harness.run(deploy, params: ["app": .string(app), "commit": .string(commit), "fail": .string(fail)],
                                               store: store)
            #expect(result.outcome.status == (fail == "yes" ? .failed : .succeeded), "\(result.sink.transcript)")
            ids.append(result.outcome.runID)
        }
        return ids
    }

    static func outputs(_ result: Harness.Result, _ label: String) -> [String: Value] {
        result.sink.finished.last { $0.label == label }?.outputs ?? [:]
    }

    @Test func usesHistoryFindsRunsByParamsStatusAndOffset() async throws {
        let temp = try TempStore()
        let ids = try await Self.history(temp.store)
        let result = try await Harness.run("""
            name: reader
            steps:
              - { id: last, name: last, uses: history, with: { pipeline: deploy, params: { app: a } } }
              - { id: previous, name: previous, uses: history, with: { pipeline: deploy, params: { app: a }, offset: 1 } }
              - { id: failed, name: failed, uses: history, with: { pipeline: deploy, params: { app: a }, status: failed } }
              - { id: b, name: b, uses: history, with: { pipeline: deploy, params: { app: b } } }
              - { id: none, name: none, uses: history, with: { pipeline: deploy, params: { app: zzz }, required: false } }
              - { id: gone, name: gone, uses: history, with: { pipeline: deploy, params: { app: a }, offset: 2, required: false } }
              - id: used
                name: used
                lua: return { commit = steps.previous.outputs.outputs.pull.commit }
            """, store: temp.store)
        #expect(result.outcome.status == .succeeded, "\(result.sink.transcript)")

        let last = Self.outputs(result, "last")
        #expect(last["found"] == .bool(true))
        #expect(last["run_id"] == .string(ids[2]))
        #expect(last["status"] == .string("succeeded"))
        #expect(last["params"]?.mapValue?["app"] == .string("a"))
        #expect(last["outputs"]?.mapValue?["pull"]?.mapValue?["commit"] == .string("c3"))
        #expect(last["started_at"]?.stringValue?.hasSuffix("Z") == true)
        #expect(last["finished_at"]?.stringValue != nil)
        #expect(Self.outputs(result, "previous")["run_id"] == .string(ids[0]))
        #expect(Self.outputs(result, "used")["commit"] == .string("c1"))
        let failed = Self.outputs(result, "failed")
        #expect(failed["run_id"] == .string(ids[3]))
        #expect(failed["outputs"]?.mapValue?["pull"]?.mapValue?["commit"] == .string("c4"))
        #expect(Self.outputs(result, "b")["run_id"] == .string(ids[1]))
        #expect(Self.outputs(result, "none") == ["found": .bool(false)])
        #expect(Self.outputs(result, "gone") == ["found": .bool(false)])
    }

    /// A rollback's release is as much "what runs now" as a deploy's: with a list of pipelines the
    /// newest run of any of them answers, in both the plugin and Lua, and a `run_id` may be of any.
    @Test func severalPipelinesAreOneTimeline() async throws {
        let temp = try TempStore()
        let ids = try await Self.history(temp.store)
        let rollback = try await Harness.run("""
            name: rollback
            params:
              app: { required: true }
            steps:
              - { id: pull, name: pull, lua: "return { commit = 'c1' }" }
            """, params: ["app": .string("a")], store: temp.store)
        #expect(rollback.outcome.status == .succeeded, "\(rollback.sink.transcript)")
        let result = try await Harness.run("""
            name: reader
            steps:
              - { id: both, name: both, uses: history, with: { pipeline: [deploy, rollback], params: { app: a } } }
              - { id: before, name: before, uses: history, with: { pipeline: [deploy, rollback], params: { app: a }, offset: 1 } }
              - { id: deploys, name: deploys, uses: history, with: { pipeline: deploy, params: { app: a } } }
              - { id: by_id, name: by_id, uses: history, with: { pipeline: [deploy, rollback], run_id: "\(rollback.outcome.runID)" } }
              - id: lua
                name: lua
                lua: |
                  local last = runner.history.last{ pipeline = { 'deploy', 'rollback' }, params = { app = 'a' } }
                  return { run = last.run_id, pipeline = last.pipeline }
              - { id: missing, name: missing, uses: history, with: { pipeline: [deploy, rollback], params: { app: a }, offset: 3 } }
            """, store: temp.store)
        #expect(Self.outputs(result, "both")["run_id"] == .string(rollback.outcome.runID))
        #expect(Self.outputs(result, "both")["pipeline"] == .string("rollback"))
        #expect(Self.outputs(result, "before")["run_id"] == .string(ids[2]))
        #expect(Self.outputs(result, "deploys")["run_id"] == .string(ids[2]))
        #expect(Self.outputs(result, "by_id")["outputs"]?.mapValue?["pull"]?.mapValue?["commit"] == .string("c1"))
        #expect(Self.outputs(result, "lua") == ["run": .string(rollback.outcome.runID), "pipeline": .string("rollback")])
        let error = result.sink.finished.last { $0.label == "missing" }?.error ?? ""
        #expect(error.contains("no succeeded run of pipeline deploy or rollback with app=a 3 before the last one"), "\(error)")
    }

    @Test func secretsReadBackMasked() async throws {
        let temp = try TempStore()
        _ = try await Self.history(temp.store)
        let result = try await Harness.run("""
            name: reader
            steps:
              - { id: last, name: last, uses: history, with: { pipeline: deploy, params: { app: a } } }
              - id: lua
                name: lua
                lua: |
                  local r = runner.history.last{ pipeline = 'deploy', params = { app = 'a' } }
                  return { token = r.outputs.pull.token, param = r.params.token }
            """, store: temp.store)
        #expect(result.outcome.status == .succeeded, "\(result.sink.transcript)")
        let last = Self.outputs(result, "last")
        #expect(last["outputs"]?.mapValue?["pull"]?.mapValue?["token"] == .string("***"))
        #expect(last["params"]?.mapValue?["token"] == .string("***"))
        #expect(Self.outputs(result, "lua") == ["token": .string("***"), "param": .string("***")])
        #expect(!result.sink.transcript.contains("s3cr3t-t0ken"))
    }

    @Test func requiredHistoryFailsTheStepSayingWhatWasSought() async throws {
        let temp = try TempStore()
        _ = try await Self.history(temp.store)
        let result = try await Harness.run("""
            name: reader
            steps:
              - { name: previous, uses: history, with: { pipeline: deploy, params: { app: a }, offset: 2 } }
            """, store: temp.store)
        #expect(result.outcome.status == .failed)
        let error = result.sink.finished.last { $0.label == "previous" }?.error ?? ""
        #expect(error.contains("history: no succeeded run of pipeline deploy with app=a 2 before the last one in the run store"), "\(error)")
    }

    @Test func luaAPIAnswersAsThePluginDoes() async throws {
        let temp = try TempStore()
        let ids = try await Self.history(temp.store)
        let result = try await Harness.run("""
            name: reader
            steps:
              - id: lua
                name: lua
                lua: |
                  local last = runner.history.last{ pipeline = 'deploy', params = { app = 'a' } }
                  local before = runner.history.last{ pipeline = 'deploy', params = { app = 'a' }, offset = 1 }
                  local failed = runner.history.last{ pipeline = 'deploy', params = { app = 'a' }, status = 'failed' }
                  local none = runner.history.last{ pipeline = 'deploy', params = { app = 'zzz' } }
                  local ok, err = pcall(runner.history.last, { pipeline = 'deploy', app = 'a' })
                  return { last = last.run_id, commit = last.outputs.pull.commit, before = before.outputs.pull.commit,
                           failed = failed.run_id, none = none == nil, err = err }
            """, store: temp.store)
        #expect(result.outcome.status == .succeeded, "\(result.sink.transcript)")
        let out = Self.outputs(result, "lua")
        #expect(out["last"] == .string(ids[2]))
        #expect(out["commit"] == .string("c3"))
        #expect(out["before"] == .string("c1"))
        #expect(out["failed"] == .string(ids[3]))
        #expect(out["none"] == .bool(true))
        #expect(out["err"]?.stringValue?.contains("unknown field 'app'") == true, "\(out)")
    }

    @Test func theCurrentRunIsNeverReturned() async throws {
        let temp = try TempStore()
        // By id, through the engine: the run itself is "not found".
        let result = try await Harness.run("""
            name: deploy
            steps:
              - { id: me, name: me, uses: history, with: { pipeline: deploy, run_id: "${{ run.id }}", required: false } }
            """, store: temp.store)
        #expect(result.outcome.status == .succeeded, "\(result.sink.transcript)")
        #expect(Self.outputs(result, "me") == ["found": .bool(false)])
        // By search: a finished run with the asked status is skipped when it is the current one.
        let id = result.outcome.runID
        #expect(try temp.store.lastRun(pipeline: "deploy", params: [:], status: .succeeded, offset: 0, excluding: nil)?.id == id)
        #expect(try temp.store.lastRun(pipeline: "deploy", params: [:], status: .succeeded, offset: 0, excluding: id) == nil)
    }

    @Test func aRunIDOfAnotherPipelineIsRefused() async throws {
        let temp = try TempStore()
        let ids = try await Self.history(temp.store)
        let result = try await Harness.run("""
            name: reader
            steps:
              - { id: one, name: one, uses: history, with: { pipeline: deploy, run_id: "\(ids[1])" } }
              - { name: other, uses: history, with: { pipeline: backup, run_id: "\(ids[1])" } }
            """, store: temp.store)
        #expect(Self.outputs(result, "one")["outputs"]?.mapValue?["pull"]?.mapValue?["commit"] == .string("c2"))
        #expect(result.sink.finished.last { $0.label == "other" }?.error?.contains("is a run of pipeline deploy, not backup") == true)
    }

    @Test func withoutAStoreHistorySaysSo() async throws {
        let result = try await Harness.run("""
            name: reader
            steps:
              - { name: plugin, uses: history, with: { pipeline: deploy, required: false } }
              - name: lua
                if: always()
                lua: runner.history.last{ pipeline = 'deploy' }
            """)
        #expect(result.outcome.status == .failed)
        for label in ["plugin", "lua"] {
            let error = result.sink.finished.last { $0.label == label }?.error ?? ""
            #expect(error.contains("no run history available"), "\(label): \(error)")
        }
    }

    @Test func stepsOnSeveralItemsReadBackAsResults() async throws {
        let temp = try TempStore()
        _ = try await Harness.run("""
            name: fan
            steps:
              - id: each
                for_each: [x, y]
                lua: return { item = item }
            """, store: temp.store)
        let run = try #require(try temp.store.lastRun(pipeline: "fan", params: [:], status: .succeeded, offset: 0, excluding: nil))
        let results = run.outputs["each"]?["results"]?.listValue ?? []
        #expect(results.compactMap { $0.mapValue?["outputs"]?.mapValue?["item"]?.stringValue } == ["x", "y"])
    }
}

/// An empty run store in a temporary directory, removed with it.
final class TempStore: Sendable {
    let dir = TempDir()
    let store: RunStore

    init() throws { store = try RunStore(directory: dir.path + "/state") }
}
