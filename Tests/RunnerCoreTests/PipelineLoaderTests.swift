import Foundation
import RunnerCore
import Testing

/// Every class of validation error, with file, line and column asserted.
@Suite struct PipelineLoaderTests {
    func only(_ yaml: String, in dir: TempDir = TempDir()) -> Diagnostic? {
        let all = Harness.diagnostics(yaml, in: dir)
        #expect(all.count == 1, "expected one problem, got: \(all.map(\.description))")
        return all.first
    }

    func expect(_ d: Diagnostic?, line: Int, column: Int, contains text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(d?.location?.line == line, "line of \(d?.description ?? "nil")", sourceLocation: sourceLocation)
        #expect(d?.location?.column == column, "column of \(d?.description ?? "nil")", sourceLocation: sourceLocation)
        #expect(d?.message.contains(text) == true, "'\(d?.message ?? "nil")' should contain '\(text)'", sourceLocation: sourceLocation)
        #expect(d?.location?.file.hasSuffix("p.yml") == true, sourceLocation: sourceLocation)
    }

    @Test func validPipelineLoads() throws {
        let dir = TempDir()
        let path = dir.write("deploy.yml", """
            name: deploy
            params:
              app: { required: true, pattern: '^[a-z]+$' }
            vars:
              dir: /srv/apps/sgos-${{ params.app }}
            steps:
              - id: hello
                run: echo ${{ vars.dir }}
              - if: steps.hello.status == 'ok'
                lua: return { n = 1 }
            """)
        let p = try Harness.loader().load(path: path)
        #expect(p.name == "deploy")
        #expect(p.steps.count == 2)
        #expect(p.params.first?.required == true)
        #expect(p.vars.map(\.name) == ["dir"])
    }

    @Test func unknownTopLevelKeySuggests() {
        expect(only("name: x\nstep:\n  - run: true\nsteps:\n  - run: true\n"), line: 2, column: 1, contains: "did you mean 'steps'")
    }

    @Test func unknownStepKeySuggests() {
        expect(only("steps:\n  - run: true\n    retires: 3\n"), line: 3, column: 5, contains: "unknown key 'retires' in a step (did you mean 'retry'?)")
    }

    @Test func wrongType() {
        expect(only("steps:\n  - run: true\n    continue_on_error: maybe\n"), line: 3, column: 24, contains: "must be true or false")
        expect(only("steps: nope\n"), line: 1, column: 8, contains: "steps must be a list")
    }

    @Test func missingBody() {
        expect(only("steps:\n  - name: nothing\n"), line: 2, column: 5, contains: "nothing to do")
    }

    @Test func twoBodies() {
        expect(only("steps:\n  - run: true\n    lua: return {}\n"), line: 3, column: 5, contains: "both 'run' and 'lua'")
    }

    @Test func unknownPluginSuggests() {
        expect(only("steps:\n  - uses: pipelin\n"), line: 2, column: 11, contains: "unknown plugin 'pipelin' (did you mean 'pipeline'?)")
    }

    @Test func pluginParameters() {
        let misspelt = Harness.diagnostics("steps:\n  - uses: pipeline\n    with: { rn: x }\n")
        #expect(misspelt.contains { $0.message.contains("no parameter 'rn' (did you mean 'run'?)") && $0.location?.line == 3 && $0.location?.column == 13 })
        let missing = Harness.diagnostics("steps:\n  - uses: pipeline\n    with: { params: {} }\n")
        #expect(missing.contains { $0.message.contains("needs parameter 'run'") && $0.location?.line == 2 })
        let dir = TempDir()
        dir.write("x.yml", "steps:\n  - run: true\n")
        expect(only("steps:\n  - uses: pipeline\n    with: { run: x, params: [1] }\n", in: dir), line: 3, column: 29, contains: "must be map")
    }

    /// restic takes its password inline or from a file on the host: exactly one of the two.
    @Test func alternativeParameters() {
        let neither = Harness.diagnostics("steps:\n  - uses: restic\n    with: { command: check, repository: /r }\n")
        #expect(neither.contains { $0.message.contains("needs parameter 'password' or 'password_file'") && $0.location?.line == 2 }, "\(neither)")
        expect(only("steps:\n  - uses: restic\n    with: { command: check, repository: /r, password: x, password_file: /p }\n"),
               line: 3, column: 58, contains: "takes only one of 'password' or 'password_file'")
        #expect(Harness.diagnostics("steps:\n  - uses: restic\n    with: { command: check, repository: /r, password_file: /p }\n").isEmpty)
    }

    @Test func duplicateAndMalformedIDs() {
        expect(only("steps:\n  - id: a\n    run: true\n  - id: a\n    run: true\n"), line: 4, column: 5, contains: "duplicate step id 'a' (first used at line 2)")
        expect(only("steps:\n  - id: my-step\n    run: true\n"), line: 2, column: 9, contains: "step id 'my-step'")
    }

    @Test func badDurations() {
        expect(only("timeout: soon\nsteps:\n  - run: true\n"), line: 1, column: 10, contains: "must be a duration")
        expect(only("steps:\n  - run: true\n    timeout: 5 minutes\n"), line: 3, column: 14, contains: "must be a duration")
    }

    @Test func badRetry() {
        expect(only("steps:\n  - run: true\n    retry: { attempts: 0 }\n"), line: 3, column: 24, contains: "between 1 and 100")
        expect(only("steps:\n  - run: true\n    retry: { backoff: 0.5 }\n"), line: 3, column: 23, contains: "backoff")
        expect(only("steps:\n  - run: true\n    retry: { delay: x }\n"), line: 3, column: 21, contains: "duration")
    }

    @Test func luaSyntaxInIf() {
        expect(only("steps:\n  - run: true\n    if: params.x ==\n"), line: 3, column: 9, contains: "unexpected")
    }

    @Test func luaSyntaxInTemplate() {
        expect(only("steps:\n  - run: echo ${{ params. }}\n"), line: 2, column: 15, contains: "expression")
    }

    @Test func luaSyntaxInLuaStep() {
        // The unclosed `if` is found at the end of the chunk: its last line, file line 4; the
        // message names the `if` by its file line too. Lines after a chunk's first start at column 1.
        expect(only("steps:\n  - lua: |\n      local x = 1\n      if x then\n"), line: 4, column: 1,
               contains: "'end' expected (to close 'if' at line 4) near <eof>")
        expect(only("steps:\n  - lua: |\n      local x = 1\n      y = = 2\n      return x\n"), line: 4, column: 1,
               contains: "unexpected symbol near '='")
        expect(only("steps:\n  - lua: 'local x = = 1'\n"), line: 2, column: 11, contains: "unexpected symbol near '='")
    }

    @Test func unclosedTemplate() {
        expect(only("steps:\n  - run: echo ${{ params.app\n"), line: 2, column: 15, contains: "unclosed '${{'")
    }

    @Test func unknownHost() {
        expect(only("steps:\n  - run: true\n    on: hornbill\n"), line: 3, column: 9, contains: "unknown host 'hornbill'")
        let d = only("hosts:\n  hornbill: { connection: local }\nsteps:\n  - run: true\n    on: [hornbil]\n")
        expect(d, line: 5, column: 10, contains: "did you mean 'hornbill'")
    }

    @Test func inventoryBesideThePipeline() {
        let dir = TempDir()
        dir.write("inventory.yml", "hosts:\n  hornbill: { address: 10.0.0.1, user: deploy }\ngroups:\n  apps: [hornbill]\n")
        #expect(Harness.diagnostics("steps:\n  - run: true\n    on: apps\n", in: dir).isEmpty)
    }

    @Test func everyProblemAtOnce() {
        let all = Harness.diagnostics("""
            nme: x
            steps:
              - run: true
                timeout: never
              - uses: nope
              - id: 9
                run: true
            """)
        #expect(all.count == 4, "\(all)")
        #expect(all.map { $0.location?.line ?? 0 } == [1, 4, 5, 6])
    }

    @Test func emptyFile() {
        expect(only(""), line: 1, column: 1, contains: "empty")
        expect(only("# just a comment\n"), line: 1, column: 1, contains: "empty")
    }

    @Test func binaryGarbage() {
        let dir = TempDir()
        let path = dir.path + "/p.yml"
        _ = FileManager.default.createFile(atPath: path, contents: Data([0x7F, 0x45, 0x4C, 0x46, 0x02, 0x00, 0xFF, 0xFE, 0x00]))
        do {
            _ = try Harness.loader().load(path: path)
            Issue.record("garbage loaded")
        } catch {
            #expect(error.diagnostics.first?.message.contains("binary") == true, "\(error)")
            #expect(error.diagnostics.first?.location?.line == 1)
        }
    }

    @Test func aliasBombIsRefused() {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...9 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n" }
        yaml += "steps:\n  - run: true\n"
        let all = Harness.diagnostics(yaml)
        #expect(all.count == 1)
        #expect(all.first?.message == "document expands to more than 100000 nodes (alias bomb?)")
        #expect(all.first?.location?.line == 5)  // a4: 11 111 nodes per *a3, past 100 000 at its 8th
    }

    @Test func withWithoutUses() {
        expect(only("steps:\n  - run: true\n    with: { a: 1 }\n"), line: 3, column: 5, contains: "'with' belongs to a plugin step")
    }

    @Test func paramDeclarations() {
        expect(only("params:\n  n: { type: integer, default: x }\nsteps:\n  - run: true\n"), line: 2, column: 14, contains: "must be int")
        expect(only("params:\n  n: { type: float64 }\nsteps:\n  - run: true\n"), line: 2, column: 14, contains: "param type")
        expect(only("params:\n  n: { pattern: '[' }\nsteps:\n  - run: true\n"), line: 2, column: 17, contains: "not a valid regular expression")
    }

    @Test func absurdDurationsAreErrorsNotCrashes() {
        expect(only("timeout: 1e300\nsteps:\n  - run: true\n"), line: 1, column: 10, contains: "at most a year")
        expect(only("steps:\n  - run: true\n    timeout: 999999999999d\n"), line: 3, column: 14, contains: "at most a year")
        expect(only("steps:\n  - run: true\n    retry: { delay: 1e300 }\n"), line: 3, column: 21, contains: "at most a year")
        expect(only("steps:\n  - run: true\n    timeout: 0\n"), line: 3, column: 14, contains: "more than zero")
    }

    @Test func parallelGroupsRejectPerStepKeys() {
        expect(only("steps:\n  - timeout: 1s\n    parallel:\n      - run: true\n"), line: 2, column: 5, contains: "does not apply to a parallel group")
    }

    @Test func forEachMustBeAList() {
        expect(only("steps:\n  - for_each: 5\n    run: true\n"), line: 2, column: 15, contains: "for_each must be a list")
    }

    @Test func schemaAndCrossChecksReportedTogether() {
        let all = Harness.diagnostics("steps:\n  - run: true\n    timeout: never\n  - id: a\n    run: true\n  - id: a\n    run: true\n")
        #expect(all.count == 2, "\(all)")
    }
}
