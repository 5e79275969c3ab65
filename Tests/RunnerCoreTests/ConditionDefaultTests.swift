import Foundation
import RunnerCore
import Testing

/// An `if:` without success(), failure(), always() or cancelled() keeps the block's default
/// condition (GitHub Actions' rule): success() in `steps:`, always() in on_failure and finally.
@Suite(.serialized) struct ConditionDefaultTests {
    /// The reproduction: after a failed step, `if: params.ref == 'main'` ran and crashed
    /// on the failed step's missing output.
    @Test func explicitIfIsAndedWithSuccess() async throws {
        let r = try await Harness.run("""
            params:
              ref: { default: main }
            steps:
              - id: pull
                run: exit 1
              - name: log
                if: params.ref == 'main'
                lua: runner.log("deployed at " .. steps.pull.outputs.nothing)
              - name: on failure
                if: failure() and params.ref == 'main'
                run: echo failure seen
              - name: always
                if: always() and params.ref == 'main'
                run: echo always seen
              - name: not cancelled
                if: not cancelled()
                run: echo not cancelled seen
            """)
        #expect(r.outcome.status == .failed)
        #expect(r.sink.status(of: "log") == .skipped)
        #expect(r.sink.status(of: "on failure") == .ok)
        #expect(r.sink.status(of: "always") == .ok)
        #expect(r.sink.status(of: "not cancelled") == .ok)
        #expect(r.outcome.error == "step 'pull' failed")
    }

    @Test func explicitIfStillDecidesWhenAllIsWell() async throws {
        let r = try await Harness.run("""
            params:
              ref: { default: main }
            steps:
              - name: yes
                if: params.ref == 'main'
                run: echo yes
              - name: no
                if: params.ref == 'dev'
                run: echo no
            """)
        #expect(r.sink.status(of: "yes") == .ok)
        #expect(r.sink.status(of: "no") == .skipped)
    }

    /// In on_failure and finally the default is always(): an `if:` is taken as written, so a
    /// step whose condition holds runs even after an earlier step of the block failed (deploy.yml's
    /// Notify after "Breaking migration" relies on it).
    @Test func inOnFailureAndFinallyAnIfIsTakenAsWritten() async throws {
        let r = try await Harness.run("""
            params:
              notify: { default: "yes" }
            steps:
              - run: exit 1
            on_failure:
              - id: breaking
                lua: runner.fail("breaking migration")
              - name: notify
                if: params.notify == 'yes'
                run: echo notify
              - name: saw breaking
                if: steps.breaking.status == 'failed'
                run: echo saw
            finally:
              - run: exit 2
              - name: flag off
                if: params.notify == 'yes'
                run: echo flag off
            """)
        #expect(r.outcome.status == .failed)
        #expect(r.sink.status(of: "notify") == .ok)
        #expect(r.sink.status(of: "saw breaking") == .ok)
        #expect(r.sink.status(of: "flag off") == .ok)
    }

    /// The default applies inside a parallel group too (the group itself runs: always()).
    @Test func parallelStepsAfterAFailureKeepTheDefault() async throws {
        let r = try await Harness.run("""
            params:
              go: { default: "yes" }
            steps:
              - run: exit 1
              - if: always()
                parallel:
                  - name: inner
                    if: params.go == 'yes'
                    run: echo inner
            """)
        #expect(r.sink.status(of: "inner") == .skipped)
        #expect(!r.sink.output.contains("inner"))
    }

    @Test(arguments: [
        ("success()", true), ("failure() or x", true), ("always()", true), ("not cancelled()", true),
        ("params.ref == 'main'", false), ("steps.success.status == 'ok'", false), ("'success()' == x", false),
        ("x -- always()", false), ("run.status == 'failure'", false), ("t:always()", false),
    ])
    func whatCountsAsAStatusFunction(_ source: String, _ expected: Bool) {
        #expect(LuaSource(source).callsStatusFunction == expected, "\(source)")
    }
}
