import Foundation
import RunnerCore
import Testing

/// `runner validate` refuses a `${{ }}` that no reference can keep one literal word, at its
/// file:line:column, with the safe form; the same for plugins' shell-string parameters.
@Suite struct ShellValueValidationTests {
    @Test func refusalsNameLineColumnAndTheSafeForm() {
        let d = Harness.diagnostics("""
            params:
              port: { default: "8080" }
            steps:
              - run: echo "next=$(( ${{ params.port }} + 1 ))"
              - run: |
                  echo ok
                  sh -c 'echo hello ${{ params.port }}'
                  cat > app.env <<'EOF'
                  PORT=${{ params.port }}
                  EOF
              - run: |
                  cat > app.env <<EOF
                  PORT=${{ params.port }}
                  EOF
                  echo \\${{ params.port }}
            """)
        let at = d.map { "\($0.location?.line ?? 0):\($0.location?.column ?? 0)" }
        #expect(at == ["4:25", "7:25", "9:12", "15:13"], "\(d)")
        for diagnostic in d {
            #expect(diagnostic.message.hasPrefix("${{ params.port }} cannot stay one literal word here: "))
            #expect(diagnostic.message.hasSuffix("Safe form: env: { PORT: \"${{ params.port }}\" } on the step, and \"$PORT\" in the script"))
        }
        #expect(d[0].message.contains("arithmetic"))
        #expect(d[1].message.contains("single quotes"))
        #expect(d[2].message.contains("quoted heredoc"))
        #expect(d[3].message.contains("backslash"))
    }

    /// A refusal after `raw(...)` text depends on that text: the step fails when it runs, before
    /// anything starts.
    @Test func rawTextReentersTheTracker() async throws {
        let dir = TempDir()
        let r = try await Harness.run("""
            vars:
              cmd: sh -c
            params:
              v: { default: "x" }
            steps:
              - run: ${{ raw(vars.cmd) }} "touch \(dir.path)/PWN; echo ${{ params.v }}"
            """, dir: dir)
        #expect(r.outcome.status == .failed)
        #expect(r.sink.finished.first?.error?.contains("it is the program `sh -c` runs") == true, "\(r.sink.transcript)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/PWN"))
    }

    @Test func dockerCommandStringRefusesValues() {
        let d = Harness.diagnostics("""
            params:
              v: { default: x }
            steps:
              - uses: docker
                with: { exec: app, command: "echo ${{ params.v }}" }
              - uses: docker
                with: { exec: app, command: [echo, "${{ params.v }}"] }
              - uses: docker
                with: { exec: app, command: "echo fixed" }
            """)
        #expect(d.count == 1, "\(d)")
        #expect(d.first.map { "\($0.location?.line ?? 0):\($0.location?.column ?? 0)" } == "5:39")
        #expect(d.first?.message.contains("string form of 'command' (plugin 'docker') would be read as code") == true)
        #expect(d.first?.message.contains("command: [program, arg, \"${{ params.v }}\"]") == true)
    }
}
