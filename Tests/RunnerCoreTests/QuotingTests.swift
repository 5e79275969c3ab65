import Foundation
import RunnerCore
import Testing

@Suite(.serialized) struct QuotingTests {
    @Test func hostileParamIsOneLiteralWord() async throws {
        let dir = TempDir()
        let hostile = "x'; touch \(dir.path)/pwned; echo '"
        let r = try await Harness.run("""
            params:
              msg: { required: true }
            steps:
              - run: printf '%s\\n' sgos-${{ params.msg }} | wc -l; printf '[%s]' ${{ params.msg }}
            """, params: ["msg": .string(hostile)], dir: dir)
        #expect(r.outcome.status == .succeeded)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/pwned"))
        #expect(r.sink.output.first == "1")
        #expect(r.sink.output.last == "[\(hostile)]")
    }

    @Test func rmRfIsNotExecuted() async throws {
        let dir = TempDir()
        dir.write("keep/file", "x")
        let r = try await Harness.run("""
            params:
              app: { required: true }
            steps:
              - run: echo deploying ${{ params.app }}
            """, params: ["app": .string("'; rm -rf \(dir.path)/keep; echo '")], dir: dir)
        #expect(r.outcome.status == .succeeded)
        #expect(FileManager.default.fileExists(atPath: dir.path + "/keep/file"))
        #expect(r.sink.output == ["deploying '; rm -rf \(dir.path)/keep; echo '"])
    }

    /// Inside double quotes the value is still literal text, without stray quotes. (Single
    /// quotes, a backslash before the value and quoted heredocs are refused at validation:
    /// ShellContextTests and ShellValueValidationTests.)
    @Test func quotingFollowsTheShellContext() async throws {
        let dir = TempDir()
        let hostile = "a'b\"c $(touch \(dir.path)/pwned) `id` \\ $HOME"
        let r = try await Harness.run("""
            params:
              v: { required: true }
            steps:
              - run: |
                  printf '%s\\n' "double: ${{ params.v }}"
                  printf '%s\\n' bare:${{ params.v }}
            """, params: ["v": .string(hostile)], dir: dir)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        #expect(r.sink.output == ["double: \(hostile)", "bare:\(hostile)"])
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/pwned"))
    }

    /// Places an older quote tracker could not follow (comments, command substitution inside
    /// double quotes, backquotes, heredocs) never run a value as code.
    @Test(arguments: [
        "echo \"hello\" # don't worry\necho ${{ params.x }}",
        "echo \"$(echo ${{ params.x }})\"",
        "echo `echo ${{ params.x }}`",
        "cat <<EOF\nit's ${{ params.x }}\nEOF",
        "x=${{ params.x }}; echo \"$x\"",
    ])
    func valuesNeverBecomeCode(script: String) async throws {
        let dir = TempDir()
        let payload = "a'\"; touch \(dir.path)/pwned; echo $(touch \(dir.path)/pwned2) `touch \(dir.path)/pwned3` \\"
        let yaml = "params:\n  x: { required: true }\nsteps:\n  - run: |\n" + script.split(separator: "\n").map { "      \($0)\n" }.joined()
        let r = try await Harness.run(yaml, params: ["x": .string(payload)], dir: dir)
        for marker in ["pwned", "pwned2", "pwned3"] {
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/" + marker), "\(script) ran the payload: \(r.sink.transcript)")
        }
    }

    @Test func rawOptsOut() async throws {
        let r = try await Harness.run("""
            vars:
              cmd: echo a; echo b
            steps:
              - run: ${{ raw(vars.cmd) }}
              - run: echo ${{ vars.cmd }}
            """)
        #expect(r.sink.output == ["a", "b", "echo a; echo b"])
    }

    @Test func wholeValueKeepsItsType() async throws {
        let r = try await Harness.run("""
            vars:
              list: ${{ {1, 2, 3} }}
              n: ${{ 40 + 2 }}
              text: n=${{ 40 + 2 }}
              yes: ${{ true }}
            steps:
              - lua: return { list = vars.list, n = vars.n, text = vars.text, t = type(vars.list), yes = vars.yes }
            """)
        let out = r.sink.finished.first?.outputs ?? [:]
        #expect(out["list"] == [1, 2, 3])
        #expect(out["n"] == .int(42))
        #expect(out["text"] == "n=42")
        #expect(out["t"] == "table")
        #expect(out["yes"] == .bool(true))
    }

    @Test func environmentIsReadOnly() async throws {
        let r = try await Harness.run("params:\n  x: {}\nsteps:\n  - lua: params.x = 1\n")
        #expect(r.sink.status(of: "lua") == .failed)
        #expect(r.sink.finished.first?.error?.contains("read-only") == true)
    }
}
