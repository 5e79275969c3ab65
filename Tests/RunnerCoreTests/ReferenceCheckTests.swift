import Foundation
import RunnerCore
import Testing

/// Typos in names fail validation, at file:line:column with a suggestion, before anything runs.
@Suite struct ReferenceCheckTests {
    func messages(_ yaml: String, in dir: TempDir = TempDir()) -> [String] {
        Harness.diagnostics(yaml, in: dir).map { $0.description.replacingOccurrences(of: dir.path + "/", with: "") }
    }

    @Test func unknownGlobalInATemplate() {
        let m = messages("""
            params:
              app: { default: phone }
            steps:
              - run: echo ok
                env: { APP: "${{ parms.app }}" }
            """)
        #expect(m == ["p.yml:5:18: unknown name 'parms' (did you mean 'params'?): expressions see params, vars, secrets, steps, run, env, item, host, payload and Lua's standard functions"])
    }

    @Test func unknownGlobalInAnIf() {
        let m = messages("steps:\n  - if: sucess() and true\n    run: echo ok\n")
        #expect(m.count == 1)
        #expect(m.first?.hasPrefix("p.yml:2:9: unknown name 'sucess' (did you mean 'success'?)") == true, "\(m)")
    }

    @Test func knownNamesPass() {
        let m = messages("""
            params:
              app: { default: phone }
            vars:
              n: ${{ string.upper(params.app) .. tostring(math.floor(1.5)) .. json.encode({a = 1}) }}
            steps:
              - id: first
                for_each: ${{ { 'a', 'b' } }}
                run: echo ${{ item }} ${{ run.id }} ${{ env.HOME }} ${{ vars.n }}
              - if: "always() and steps.first.status == 'ok' and #steps.first.outputs.results > 0"
                on: local
                run: echo ${{ raw(host and host.name or 'x') }} ${{ os.time() }}
            """)
        #expect(m == [])
    }

    /// A chunk may define its own names; only names it never defines and the sandbox lacks are refused.
    @Test func luaChunks() {
        let ok = messages("""
            steps:
              - lua: |
                  local total, count = 0, 0
                  local function add(n) total = total + n end
                  for i, v in ipairs({1, 2}) do add(v) end
                  helper = function(x) return x end
                  local t = { name = "x", size = helper(1) }
                  runner.log(t.name .. total .. string.format("%d", count))
                  local ok, mod = pcall(require, "thing")
                  return { total = total }
            """)
        #expect(ok == [])
        let bad = messages("""
            steps:
              - lua: |
                  local total = 0
                  runnr.log("total " .. total)
            """)
        #expect(bad.count == 1)
        #expect(bad.first?.hasPrefix("p.yml:4:1: unknown name 'runnr' (did you mean 'runner'?)") == true, "\(bad)")
    }

    @Test func runnerIsNotAnExpressionGlobal() {
        let m = messages("steps:\n  - run: echo ${{ runner.quote('x') }}\n")
        #expect(m.first?.contains("unknown name 'runner'") == true, "\(m)")
    }

    @Test func undeclaredParam() {
        let m = messages("params:\n  app: {}\nsteps:\n  - run: echo ok\n    if: params.ap == 'x'\n")
        #expect(m == ["p.yml:5:9: params.ap: the pipeline has no param 'ap' (did you mean 'app'?); it declares app"])
    }

    @Test func unknownStepID() {
        let m = messages("""
            steps:
              - id: pull
                run: echo hi
              - run: echo "${{ steps.pul.outputs.stdout }}"
            """)
        #expect(m == ["p.yml:4:16: steps.pul: no step has the id 'pul' (did you mean 'pull'?)"])
    }

    @Test func stepDefinedLaterOrItself() {
        let m = messages("""
            steps:
              - id: first
                if: steps.second.status == 'ok'
                run: echo hi
              - id: second
                if: steps.second.status == 'ok'
                run: echo hi
            """)
        #expect(m == [
            "p.yml:3:9: steps.second: step 'second' (line 5) has not run yet here: a step sees only the steps before it",
            "p.yml:6:9: steps.second: step 'second' (line 5) has not run yet here: a step sees only the steps before it",
        ])
    }

    @Test func varsRunBeforeAnyStep() {
        let m = messages("vars:\n  v: ${{ steps.a.outputs.stdout }}\nsteps:\n  - id: a\n    run: echo hi\n")
        #expect(m.first?.contains("vars, env and concurrency are evaluated before any step runs") == true, "\(m)")
    }

    /// Parallel steps do not see each other; the step after the group sees them all.
    @Test func parallelGroups() {
        let m = messages("""
            steps:
              - parallel:
                  - id: a
                    run: echo a
                  - id: b
                    run: echo ${{ steps.a.outputs.stdout }}
              - run: echo ${{ steps.a.outputs.stdout }} ${{ steps.b.outputs.stdout }}
            """)
        #expect(m.count == 1)
        #expect(m.first?.hasPrefix("p.yml:6:19: steps.a: step 'a' (line 3) has not run yet here") == true, "\(m)")
    }

    /// on_failure and finally see every main step; finally also sees on_failure's; main steps see neither.
    @Test func cleanupBlocks() {
        let ok = messages("""
            steps:
              - id: late
                run: echo hi
            on_failure:
              - id: undo
                if: steps.late.status == 'failed'
                run: echo undo
            finally:
              - if: steps.undo.status == 'ok' or steps.late.status == 'ok'
                run: echo fin
            """)
        #expect(ok == [])
        let bad = messages("""
            steps:
              - if: steps.undo.status == 'ok'
                run: echo hi
            on_failure:
              - id: undo
                run: echo undo
            """)
        #expect(bad.first?.contains("steps.undo: step 'undo' (line 5) has not run yet here") == true, "\(bad)")
    }

    @Test func missingCalledPipeline() {
        let dir = TempDir()
        dir.write("rollback.yml", "steps:\n  - run: echo rollback\n")
        let m = messages("""
            steps:
              - uses: pipeline
                with: { run: rollbak }
              - uses: pipeline
                with: { run: rollback }
            """, in: dir)
        #expect(m.count == 1)
        #expect(m.first?.hasPrefix("p.yml:3:18: no pipeline 'rollbak' (did you mean 'rollback'?) (looked for ") == true, "\(m)")
    }

    @Test func fanOutOutputsNameTheirShape() {
        let m = messages("""
            hosts:
              web1: { connection: local }
              web2: { connection: local }
            groups:
              web: [web1, web2]
            steps:
              - id: each
                on: web
                run: hostname
              - id: one
                on: web1
                run: hostname
              - run: echo ${{ steps.each.outputs.results[1].outputs.stdout }} ${{ steps.one.outputs.stdout }}
              - run: echo ${{ steps.each.outputs.stdout }}
            """)
        #expect(m == ["p.yml:14:15: steps.each.outputs.stdout: step 'each' runs on the group 'web' (2 hosts): its outputs are steps.each.outputs.results[i].outputs.stdout, where results is a list of { host, item, status, outputs } (one entry per host and item)"])
    }

    @Test func forEachOutputsNameTheirShape() {
        let m = messages("""
            steps:
              - id: each
                for_each: [a, b]
                run: echo ${{ item }}
              - lua: |
                  return { first = steps.each.outputs.stdout }
            """)
        #expect(m.first?.hasPrefix("p.yml:6:18: steps.each.outputs.stdout: step 'each' runs once per for_each item") == true, "\(m)")
    }
}
