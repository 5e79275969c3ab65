import Foundation
import RunnerCore
import RunnerLua
import Testing

/// `uses: pipeline` cannot recurse, and cannot nest without bound.
@Suite(.serialized) struct NestingTests {
    /// A literal `run:` naming the pipeline itself is refused when the file loads, however the
    /// name is spelled.
    @Test func aDirectSelfCallIsRefusedAtValidation() {
        let dir = TempDir()
        dir.write("other.yml", "steps:\n  - run: true\n")
        let diagnostics = Harness.diagnostics("""
            steps:
              - uses: pipeline
                for_each: [1, 2]
                with:
                  run: p
              - uses: pipeline
                with: { run: other }
            finally:
              - uses: pipeline
                with: { run: ./p.yml }
            """, in: dir).map { $0.description.replacingOccurrences(of: dir.path + "/", with: "") }
        #expect(diagnostics == [
            "p.yml:5:12: a pipeline cannot call itself (p.yml → p.yml): with for_each or on_failure it would run without end",
            "p.yml:10:18: a pipeline cannot call itself (p.yml → p.yml): with for_each or on_failure it would run without end",
        ])
    }

    /// Recursion through another pipeline stops at the first call back, naming the chain, so a
    /// `for_each` cannot fan out: each pipeline runs once per call that reached it.
    @Test func recursionThroughAnotherPipelineStopsAtTheFirstCallBack() async throws {
        let dir = TempDir()
        let counter = dir.path + "/counter"
        dir.write("rollback.yml", """
            steps:
              - run: echo rollback >> \(counter)
              - uses: pipeline
                for_each: [1, 2]
                with: { run: pipeline }
            """)
        let r = try await Harness.run("""
            steps:
              - run: echo top >> \(counter)
              - uses: pipeline
                for_each: [1, 2]
                with: { run: rollback }
            """, dir: dir)
        #expect(r.outcome.status == .failed)
        #expect(dir.read("counter") == "top\nrollback\nrollback\n")
        #expect(r.sink.transcript.contains("a pipeline cannot call itself: pipeline.yml → rollback.yml → pipeline.yml"),
                "\(r.sink.transcript)")
    }

    /// A chain of distinct pipelines is at most `maxNesting` (8) deep; the error names the chain.
    @Test func nestingDepthIsBounded() async throws {
        let dir = TempDir()
        for level in 1...8 {
            let next = level < 8 ? "  - uses: pipeline\n    with: { run: n\(level + 1) }\n" : ""
            dir.write("n\(level).yml", "steps:\n  - run: echo \(level) >> \(dir.path)/levels\n" + next)
        }
        let r = try await Harness.run("steps:\n  - uses: pipeline\n    with: { run: n1 }\n", dir: dir)
        #expect(r.outcome.status == .failed)
        #expect(dir.read("levels") == "1\n2\n3\n4\n5\n6\n7\n")
        let chain = "pipeline.yml → " + (1...8).map { "n\($0).yml" }.joined(separator: " → ")
        #expect(r.sink.transcript.contains("pipelines nest deeper than 8 levels: \(chain)"), "\(r.sink.transcript)")
    }

    /// `--inventory` replaces the inventory for the pipelines a run calls as well: a child of a
    /// run against the sandbox must not reach the hosts of the `inventory.yml` beside it.
    @Test func calledPipelinesUseTheInventoryOverride() async throws {
        let dir = TempDir()
        dir.write("inventory.yml", "hosts:\n  app: { connection: local, labels: { which: beside } }\n")
        let override = dir.write("sandbox.yml", "hosts:\n  app: { connection: local, labels: { which: override } }\n")
        dir.write("child.yml", """
            steps:
              - on: app
                run: echo ${{ host.labels.which }} >> \(dir.path)/seen
            """)
        let path = dir.write("pipeline.yml", "steps:\n  - on: app\n    run: echo ${{ host.labels.which }} >> \(dir.path)/seen\n  - uses: pipeline\n    with: { run: child }\n")
        var loader = Harness.loader()
        loader.inventoryOverride = override
        let pipeline = try loader.load(path: path)
        let engine = Engine(plugins: loader.plugins, scripting: LuaScripting(), lockDirectory: dir.path + "/locks")
        let sink = CollectingSink()
        let outcome = await engine.run(pipeline, params: [:], options: Engine.Options(runID: RunID.generate().description), sinks: [sink])
        #expect(outcome.status == .succeeded, "\(sink.transcript)")
        #expect(dir.read("seen") == "override\noverride\n")
    }
}
