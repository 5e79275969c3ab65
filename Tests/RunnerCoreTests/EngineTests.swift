import Foundation
import RunnerCore
import RunnerLua
import Testing

@Suite(.serialized) struct EngineTests {
    @Test func sequentialStepsShareOutputs() async throws {
        let r = try await Harness.run("""
            steps:
              - id: first
                run: echo hello
              - id: second
                run: echo "${{ steps.first.outputs.stdout }} world" && exit ${{ steps.first.outputs.exit_code }}
            """)
        #expect(r.outcome.status == .succeeded)
        #expect(r.sink.output == ["hello", "hello world"])
        #expect(r.outcome.counts.ok == 2)
    }

    @Test func failureSkipsLaterStepsAndFails() async throws {
        let r = try await Harness.run("""
            steps:
              - name: breaks
                run: echo oops >&2; exit 3
              - name: after
                run: echo never
              - name: cleanup-ish
                if: failure()
                run: echo saw failure
            """)
        #expect(r.outcome.status == .failed)
        #expect(r.outcome.exitCode == 1)
        #expect(r.sink.status(of: "breaks") == .failed)
        #expect(r.sink.finished.first?.error == "exit code 3: oops")
        #expect(r.sink.status(of: "after") == .skipped)
        #expect(r.sink.status(of: "cleanup-ish") == .ok)
        #expect(!r.sink.output.contains("never"))
    }

    @Test func continueOnError() async throws {
        let r = try await Harness.run("""
            steps:
              - run: exit 1
                continue_on_error: true
              - name: next
                run: echo still here
            """)
        #expect(r.outcome.status == .succeeded)
        #expect(r.sink.status(of: "next") == .ok)
    }

    /// `steps.<id>.error` says why a step failed, masked, for on_failure steps and reports
    /// (a plugin's failure is in no output); per item under `for_each`.
    @Test func stepErrorsAreReadableAndMasked() async throws {
        let dir = TempDir()
        let r = try await Harness.run("""
            params:
              token: { default: tok-123456789, secret: true }
            steps:
              - id: breaks
                run: echo "denied for ${{ params.token }}" >&2; exit 3
                continue_on_error: true
              - id: each
                for_each: [1, 2]
                run: test ${{ item }} = 1 || { echo "item ${{ item }} is wrong" >&2; exit 4; }
                continue_on_error: true
              - id: fine
                run: true
              - lua: |
                  local each = steps.each.outputs.results
                  runner.write_file("\(dir.path)/errors", steps.breaks.error .. "|" .. tostring(each[1].error) .. "|"
                    .. each[2].error .. "|" .. steps.each.error .. "|" .. tostring(steps.fine.error))
            """, dir: dir)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        // Written to a file, where no output masking applies: the value itself is masked.
        #expect(dir.read("errors") == "exit code 3: denied for ***|nil|exit code 4: item 2 is wrong|exit code 4: item 2 is wrong|nil")
    }

    /// A list computed in Lua may be empty, and Lua's `{}` reads as an empty map: nothing to do.
    @Test func forEachOverAnEmptyLuaTable() async throws {
        let r = try await Harness.run("""
            steps:
              - id: none
                lua: return { items = {} }
              - name: each
                for_each: ${{ steps.none.outputs.items }}
                run: echo ${{ item }}
              - name: after
                run: echo after
            """)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.status(of: "each") == .skipped)
        #expect(r.sink.output == ["after"])
    }

    @Test func conditions() async throws {
        let r = try await Harness.run("""
            params:
              env: { default: prod }
            steps:
              - name: only-staging
                if: params.env == 'staging'
                run: echo staging
              - name: only-prod
                if: params.env == 'prod' and success()
                run: echo prod
            """)
        #expect(r.sink.status(of: "only-staging") == .skipped)
        #expect(r.sink.status(of: "only-prod") == .ok)
        #expect(r.sink.output == ["prod"])
    }

    @Test func parallelRunsConcurrently() async throws {
        let dir = TempDir()
        // Each branch waits for the other's marker: only concurrent execution finishes.
        let r = try await Harness.run("""
            steps:
              - parallel:
                  - name: a
                    run: touch \(dir.path)/a; for i in $(seq 50); do [ -e \(dir.path)/b ] && exit 0; sleep 0.1; done; exit 1
                  - name: b
                    run: touch \(dir.path)/b; for i in $(seq 50); do [ -e \(dir.path)/a ] && exit 0; sleep 0.1; done; exit 1
            """, dir: dir)
        #expect(r.outcome.status == .succeeded)
        #expect(r.sink.status(of: "a") == .ok)
        #expect(r.sink.status(of: "b") == .ok)
    }

    @Test func forEachWithMaxParallel() async throws {
        let dir = TempDir()
        let r = try await Harness.run("""
            steps:
              - id: each
                for_each: [1, 2, 3, 4, 5]
                max_parallel: 2
                run: |
                  date +%s%N > \(dir.path)/start-${{ item }}
                  sleep 0.3
                  date +%s%N > \(dir.path)/end-${{ item }}
                  echo item-${{ item }}
              - name: count
                lua: |
                  return { n = #steps.each.outputs.results, first = steps.each.outputs.results[1].outputs.stdout }
            """, dir: dir)
        #expect(r.outcome.status == .succeeded)
        func stamp(_ name: String) -> Int { Int(dir.read(name)?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }
        let spans = (1...5).map { (stamp("start-\($0)"), stamp("end-\($0)")) }
        let most = spans.map { span in spans.filter { $0.0 <= span.0 && $0.1 > span.0 }.count }.max() ?? 0
        #expect(most == 2, "at most 2 at once, and 2 did overlap: \(spans)")
        #expect(r.sink.finished.last?.outputs["n"] == .int(5))
        #expect(r.sink.finished.last?.outputs["first"] == "item-1")
    }

    @Test func timeoutKillsTheWholeProcessGroup() async throws {
        let dir = TempDir()
        let r = try await Harness.run("""
            steps:
              - name: hangs
                timeout: 500ms
                run: (sleep 30; touch \(dir.path)/survived) & echo $! > \(dir.path)/child; sleep 30
            finally:
              - name: cleanup
                run: echo cleaned
            """, dir: dir)
        #expect(r.sink.status(of: "hangs") == .timedOut)
        #expect(r.sink.finished.first?.error?.contains("timed out after 500ms") == true)
        #expect(r.sink.status(of: "cleanup") == .ok)
        #expect(r.outcome.status == .failed)
        let pid = Int32(dir.read("child")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(pid > 0)
        try await Task.sleep(for: .milliseconds(200))
        #expect(!isAlive(pid), "background child \(pid) still alive")
    }

    @Test func retryWithBackoff() async throws {
        let dir = TempDir()
        let r = try await Harness.run("""
            steps:
              - name: flaky
                retry: { attempts: 3, delay: 100ms, backoff: 2 }
                run: echo x >> \(dir.path)/tries; [ $(wc -l < \(dir.path)/tries) -ge 3 ]
            """, dir: dir)
        #expect(r.outcome.status == .succeeded)
        #expect(dir.read("tries")?.split(separator: "\n").count == 3)
        let warnings = r.sink.all.filter { if case .log(.warn, let m) = $0.kind { m.contains("retrying") } else { false } }
        #expect(warnings.count == 2)
    }

    @Test func retryGivesUp() async throws {
        let r = try await Harness.run("""
            steps:
              - name: broken
                retry: { attempts: 2, delay: 10ms }
                run: exit 7
            """)
        #expect(r.sink.status(of: "broken") == .failed)
        guard case .stepFinished(_, _, let attempts, let code, _, _) = r.sink.all.last(where: { if case .stepFinished = $0.kind { true } else { false } })!.kind else { return }
        #expect(attempts == 2)
        #expect(code == 7)
    }

    @Test func finallyAndOnFailureOrder() async throws {
        let dir = TempDir()
        let r = try await Harness.run("""
            steps:
              - run: echo main >> \(dir.path)/order; exit 1
            on_failure:
              - run: echo on_failure >> \(dir.path)/order
            finally:
              - run: echo finally >> \(dir.path)/order
              - if: failure()
                run: echo finally-saw-failure >> \(dir.path)/order
            """, dir: dir)
        #expect(r.outcome.status == .failed)
        #expect(dir.read("order") == "main\non_failure\nfinally\nfinally-saw-failure\n")
    }

    @Test func finallyRunsAfterSuccessButOnFailureDoesNot() async throws {
        let dir = TempDir()
        _ = try await Harness.run("""
            steps:
              - run: echo main >> \(dir.path)/order
            on_failure:
              - run: echo on_failure >> \(dir.path)/order
            finally:
              - run: echo finally >> \(dir.path)/order
            """, dir: dir)
        #expect(dir.read("order") == "main\nfinally\n")
    }

    @Test func pipelineTimeout() async throws {
        let dir = TempDir()
        let r = try await Harness.run("""
            timeout: 300ms
            steps:
              - run: sleep 20
              - name: never
                run: echo never
            finally:
              - run: echo finally > \(dir.path)/fin
            """, dir: dir)
        #expect(r.outcome.status == .failed)
        #expect(r.outcome.error?.contains("pipeline timed out after 300ms") == true)
        #expect(dir.read("fin") == "finally\n")
    }

    @Test func cancellationRunsFinally() async throws {
        let dir = TempDir()
        let path = dir.write("p.yml", """
            steps:
              - run: sleep 20
            finally:
              - run: echo finally > \(dir.path)/fin
            """)
        let loader = Harness.loader()
        let pipeline = try loader.load(path: path)
        let engine = Engine(plugins: loader.plugins, scripting: LuaScripting(), lockDirectory: dir.path + "/locks")
        let sink = CollectingSink()
        let task = Task { await engine.run(pipeline, params: [:], options: .init(runID: "t"), sinks: [sink]) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let outcome = await task.value
        #expect(outcome.status == .cancelled)
        #expect(outcome.exitCode == 130)
        #expect(dir.read("fin") == "finally\n")
    }

    @Test func nestedPipeline() async throws {
        let dir = TempDir()
        dir.write("child.yml", """
            params:
              who: { required: true }
            steps:
              - run: echo hello ${{ params.who }} > \(dir.path)/child-ran
            """)
        let r = try await Harness.run("""
            steps:
              - id: call
                uses: pipeline
                with: { run: child, params: { who: nested } }
              - run: test "${{ steps.call.outputs.status }}" = succeeded
            """, dir: dir)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(dir.read("child-ran") == "hello nested\n")
    }

    @Test func nestedPipelineFailurePropagates() async throws {
        let dir = TempDir()
        dir.write("child.yml", "params:\n  n: { type: int, required: true }\nsteps:\n  - run: exit 4\n")
        let r = try await Harness.run("steps:\n  - uses: pipeline\n    with: { run: child, params: { n: 1 } }\n", dir: dir)
        #expect(r.outcome.status == .failed)
        #expect(r.sink.status(of: "pipeline child") == .failed)
        let bad = try await Harness.run("steps:\n  - uses: pipeline\n    with: { run: child, params: { n: x } }\n", dir: dir)
        #expect(bad.sink.finished.last?.error?.contains("param 'n' must be int") == true)
    }

    @Test func envAndCwd() async throws {
        let dir = TempDir()
        try FileManager.default.createDirectory(atPath: dir.path + "/work", withIntermediateDirectories: true)
        let r = try await Harness.run("""
            env:
              GREETING: hi
            steps:
              - cwd: \(dir.path)/work
                env: { WHO: "${{ 'the ' .. 'team' }}" }
                run: echo "$GREETING $WHO from $(basename $PWD) in $RUNNER_PIPELINE"
            """, dir: dir)
        #expect(r.sink.output == ["hi the team from work in pipeline"])
    }

    @Test func luaStepOutputsAndChanged() async throws {
        let r = try await Harness.run("""
            params:
              app: { default: phone }
            steps:
              - id: compute
                lua: |
                  runner.log("computing for " .. params.app)
                  local out = runner.sh("echo from-shell")
                  return { name = "sgos-" .. params.app, shell = out, changed = true, data = runner.json.decode('{"a":[1,2]}') }
              - run: test ${{ steps.compute.outputs.name }} = sgos-phone && echo ${{ steps.compute.outputs.data.a[2] }}
            """)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.status(of: "compute") == .changed)
        #expect(r.sink.finished.first?.outputs["shell"] == "from-shell")
        #expect(r.sink.output.contains("2"))
        #expect(r.sink.transcript.contains("computing for phone"))
    }

    /// runner.exec hands the output to the script without logging it (a plugin's raw `df` line
    /// is not for the operator); runner.sh streams it like a `run:` step.
    @Test func runnerExecIsQuietAndRunnerShStreams() async throws {
        let r = try await Harness.run("""
            steps:
              - name: probe
                lua: |
                  local r = runner.exec("echo raw-exec-line")
                  runner.log("free: " .. r.stdout)
                  runner.sh("echo streamed-sh-line")
            """)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.transcript.contains("free: raw-exec-line"), "\(r.sink.transcript)")
        #expect(!r.sink.output.contains("raw-exec-line"), "\(r.sink.output)")
        #expect(r.sink.output.contains("streamed-sh-line"), "\(r.sink.output)")
    }

    @Test func luaFailIsAStepFailureWithLocation() async throws {
        let r = try await Harness.run("""
            steps:
              - name: checks
                lua: |
                  local x = 1
                  runner.fail("migration is breaking")
            """)
        #expect(r.sink.status(of: "checks") == .failed)
        let error = r.sink.finished.first?.error ?? ""
        #expect(error.contains("migration is breaking"))
        #expect(error.contains("pipeline.yml:5"), "\(error)")
        // A deliberate failure is the script's verdict, not a crash: no traceback.
        #expect(!error.contains("traceback"), "\(error)")
        #expect(error.split(separator: "\n").count == 1, "\(error)")
    }

    @Test func runawayLuaIsStopped() async throws {
        let r = try await Harness.run("steps:\n  - lua: while true do end\n")
        #expect(r.sink.status(of: "lua") == .failed)
        #expect(r.sink.finished.first?.error?.contains("limit") == true)
    }

    @Test func memoryGrowthIsStopped() async throws {
        let r = try await Harness.run("""
            steps:
              - name: hog
                lua: |
                  local t = {}
                  while true do t[#t + 1] = string.rep("x", 4096) .. #t end
              - name: expression-hog
                if: always()
                run: echo ${{ string.rep("x", 1 << 30) }}
            """)
        #expect(r.sink.status(of: "hog") == .failed)
        #expect(r.sink.finished.first?.error?.contains("memory limit") == true, "\(r.sink.finished.first?.error ?? "")")
        #expect(r.sink.finished.last?.error?.contains("memory limit") == true, "\(r.sink.finished.last?.error ?? "")")
    }

    @Test func envIsVisibleInConditionsAndForEach() async throws {
        let r = try await Harness.run("""
            vars:
              base: /srv
            env:
              D: ${{ vars.base }}/x
            steps:
              - name: cond
                if: env.D == '/srv/x'
                for_each: ${{ { env.D } }}
                run: echo ${{ item }}
            """)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.output == ["/srv/x"])
    }

    @Test func parallelGroupHonoursContinueOnError() async throws {
        let r = try await Harness.run("""
            steps:
              - name: checks
                continue_on_error: true
                parallel:
                  - run: exit 3
                  - run: echo fine
              - name: after
                run: echo after
            """)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.status(of: "after") == .ok)
        let strict = try await Harness.run("steps:\n  - parallel:\n      - run: exit 3\n  - name: after\n    run: echo after\n")
        #expect(strict.outcome.status == .failed)
        #expect(strict.sink.status(of: "after") == .skipped)
    }

    @Test func bracesInsideExpressions() async throws {
        let r = try await Harness.run("""
            steps:
              - run: echo ${{ json.encode({a = {b = 1}}) }} ${{ "}}" }}
            """)
        #expect(r.sink.output == [#"{"a":{"b":1}} }}"#])
    }

    @Test func cancellingOnFailureStillRunsFinally() async throws {
        let dir = TempDir()
        let path = dir.write("p.yml", """
            steps:
              - run: exit 1
            on_failure:
              - run: touch \(dir.path)/rollback-started; sleep 20; touch \(dir.path)/rollback-done
            finally:
              - run: touch \(dir.path)/fin
            """)
        let loader = Harness.loader()
        let pipeline = try loader.load(path: path)
        let engine = Engine(plugins: loader.plugins, scripting: LuaScripting(), lockDirectory: dir.path + "/locks")
        let task = Task { await engine.run(pipeline, params: [:], options: .init(runID: "t"), sinks: [CollectingSink()]) }
        for _ in 0..<100 where dir.read("rollback-started") == nil { try await Task.sleep(for: .milliseconds(50)) }
        task.cancel()
        let outcome = await task.value
        #expect(outcome.status == .cancelled)
        #expect(dir.read("rollback-done") == nil)
        #expect(dir.read("fin") != nil)
    }

    @Test func stepsFanOutOverHostsAndLimitRestrictsThem() async throws {
        let yaml = """
            hosts:
              web1: { connection: local }
              web2: { connection: local }
              db: { connection: local }
            groups:
              web: [web1, web2]
            steps:
              - id: each
                on: [web, db]
                run: echo on ${{ host.name }}
              - name: here
                run: echo local
              - name: db only
                on: db
                run: echo db
            """
        let all = try await Harness.run(yaml)
        #expect(Set(all.sink.output) == ["on web1", "on web2", "on db", "local", "db"])
        #expect(all.sink.status(of: "each@web1") == .ok)
        let limited = try await Harness.run(yaml, limit: ["web"])
        #expect(Set(limited.sink.output) == ["on web1", "on web2", "local"])
        #expect(limited.sink.status(of: "db only") == .skipped)
    }
}
