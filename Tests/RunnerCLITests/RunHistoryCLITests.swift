import Foundation
import Testing

/// `uses: history` and `runner.history.last` through the binary, reading the store that earlier
/// `runner run`s wrote under RUNNER_STATE_DIR (issue 11, item 3).
@Suite(.serialized) struct RunHistoryCLITests {
    @Test func aPipelineReadsThePreviousSuccessfulDeployOfItsApp() throws {
        let cli = CLI()
        // The file name is not the pipeline's name: history searches by `name:`.
        cli.write("release.yml", """
            name: deploy
            params:
              app: { required: true }
              commit: { required: true }
              fail: { default: "no" }
            steps:
              - id: pull
                lua: return { commit = params.commit }
              - lua: if params.fail == 'yes' then runner.fail('broken release') end
            """)
        for (app, commit, fail, status) in [("a", "c1", "no", 0), ("b", "c2", "no", 0), ("a", "c3", "no", 0), ("a", "c4", "yes", 1)] {
            let r = try cli.run("run", "release.yml", "app=\(app)", "commit=\(commit)", "fail=\(fail)")
            #expect(r.status == Int32(status), "\(app) \(commit): \(r.stderr)")
        }
        cli.write("rollback.yml", """
            name: rollback
            params:
              app: { required: true }
            steps:
              - id: previous
                uses: history
                with: { pipeline: deploy, params: { app: "${{ params.app }}" }, offset: 1 }
              - lua: |
                  runner.log("plugin: " .. steps.previous.outputs.outputs.pull.commit)
                  local last = runner.history.last{ pipeline = 'deploy', params = { app = params.app } }
                  local failed = runner.history.last{ pipeline = 'deploy', params = { app = params.app }, status = 'failed' }
                  runner.log("lua: last " .. last.outputs.pull.commit .. ", failed " .. failed.outputs.pull.commit)
            """)
        let r = try cli.run("run", "rollback.yml", "app=a")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("plugin: c1"), "\(r.stdout)")
        #expect(r.stdout.contains("lua: last c3, failed c4"), "\(r.stdout)")

        // No run before the first deploy of app b: the step fails and says what it looked for.
        let none = try cli.run("run", "rollback.yml", "app=b")
        #expect(none.status == 1)
        #expect(none.stdout.contains("history: no succeeded run of pipeline deploy with app=b before the last one in the run store"),
                "\(none.stdout)")

        // A plan reads no history and needs none.
        let plan = try cli.run("run", "rollback.yml", "app=a", "--dry-run")
        #expect(plan.status == 0, "\(plan.stderr)")
    }
}
