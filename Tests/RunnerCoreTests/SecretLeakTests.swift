import Foundation
@testable import RunnerCore
import Synchronization
import Testing

/// Secrets printed by real commands and Lua in the forms issue 10 (item 7) found leaking, checked
/// in every event and in the JSON lines `--output json` writes.
@Suite(.serialized) struct SecretLeakTests {
    static let quoted = #"pa"ss\wörd-9f8e"#
    static let long = "correct-horse-battery-staple-42"

    /// All a user could read of a run: messages, outputs, errors, params, step labels, and the
    /// JSON lines of the same events.
    static func everything(_ r: Harness.Result) -> String {
        let lines = Mutex("")
        let json = JSONLinesSink { text in lines.withLock { $0 += text } }
        var parts: [String] = []
        for event in r.sink.all {
            json.handle(event)
            parts.append(event.message)
            if let step = event.step { parts.append(step.label) }
            if case .stepFinished(_, _, _, _, let outputs, let error) = event.kind {
                parts.append(JSON.encode(.map(outputs)) + (error ?? ""))
            }
        }
        return parts.joined(separator: "\n") + lines.withLock { $0 } + (r.outcome.error ?? "")
    }

    /// Runs the steps (YAML list items) with the secret `pw`, which commands also get as `$PW`.
    static func run(_ steps: String, pw: String) async throws -> Harness.Result {
        try await Harness.run("""
            secrets:
              - env: RUNNER_TEST_PW
                as: pw
            env:
              PW: ${{ secrets.pw }}
            steps:
            \(steps)
            """, environment: ["RUNNER_TEST_PW": pw])
    }

    /// A secret with `"`, `\` and `ö`, printed as JSON by jq (raw UTF-8) and Python (`\u00f6`),
    /// once and twice encoded.
    @Test func jsonEscapedSecretsFromCommands() async throws {
        let r = try await Self.run("""
              - run: |
                  printf '%s' "$PW" | jq -Rc '{pw: .}'
              - run: |
                  printf '%s' "$PW" | python3 -c 'import json,sys; print(json.dumps({"pw": sys.stdin.read()}))'
              - run: |
                  printf '%s' "$PW" | python3 -c 'import json,sys; print(json.dumps(json.dumps({"pw": sys.stdin.read()})))'
            """, pw: Self.quoted)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        let all = Self.everything(r)
        #expect(!all.contains("9f8e") && !all.contains("ss\\\\w") && !all.contains("pa\\\""), "\(all)")
        #expect(r.sink.output == [#"{"pw":"***"}"#, #"{"pw": "***"}"#, #""{\"pw\": \"***\"}""#])
    }

    /// The runner's own rendering of a Lua error value: a table (shown as JSON, keys too) or a
    /// string built from the secret.
    @Test func luaErrorValues() async throws {
        let r = try await Self.run("""
              - name: table
                continue_on_error: true
                lua: error({token = secrets.pw})
              - name: key
                continue_on_error: true
                lua: error({[secrets.pw] = 1})
              - name: string
                continue_on_error: true
                lua: error(secrets.pw .. "")
              - name: condition
                continue_on_error: true
                if: error({secrets.pw}) == nil
                run: "true"
            """, pw: Self.quoted)
        let errors = r.sink.finished.map { $0.error ?? "" }
        #expect(errors.count == 4)
        for error in errors { #expect(error.contains("***") && !error.contains("9f8e"), "\(error)") }
        #expect(!Self.everything(r).contains("9f8e"))
    }

    /// HTTP Basic auth (`user:<secret>`, base64 at an offset) and base64 wrapped by `base64`
    /// (76) and `openssl base64` (64), through the real line splitter and the step's outputs.
    @Test func base64FromCommands() async throws {
        let r = try await Self.run("""
              - id: basic
                run: printf 'user:%s' "$PW" | base64
              - id: wrapped
                run: |
                  blob() { head -c 40 /dev/zero | tr '\\0' p; printf '%s' "$PW"; head -c 40 /dev/zero | tr '\\0' s; }
                  blob | base64
                  blob | openssl base64
            """, pw: Self.long)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        let all = Self.everything(r)
        let inner = SecretForms.embeddedBase64(Array(Self.long.utf8))
        for form in inner {
            #expect(!all.contains(form), "\(form) in \(all)")
            // Wrapped: a piece at the end of one line and the start of the next.
            #expect(!r.sink.output.joined().contains(form))
            let stdout: String = r.sink.finished.last?.outputs["stdout"]?.stringValue ?? ""
            #expect(!stdout.replacingOccurrences(of: "\n", with: "").contains(form))
        }
        #expect(r.sink.output.first == "dXNlcjp***")
        #expect(r.sink.output.count == 1 + 2 + 3)
    }

    /// A secret used as a key of a Lua step's outputs, at the top and nested.
    @Test func secretKeysOfOutputs() async throws {
        let r = try await Self.run("""
              - id: out
                lua: return { [secrets.pw] = 1, nested = { [secrets.pw] = "x" }, list = { { [secrets.pw] = true } } }
            """, pw: Self.long)
        #expect(r.outcome.status == .succeeded)
        let outputs = r.sink.finished.first?.outputs ?? [:]
        #expect(outputs["***"] == .int(1))
        #expect(outputs["nested"] == .map(["***": "x"]))
        #expect(!Self.everything(r).contains(Self.long))
    }

    /// The issue's case: a decrypted `7` turned the step id `d7` into `d***`. Short values are
    /// masked only where they stand alone.
    @Test func shortSecretMasksOnlyWholeTokens() async throws {
        let r = try await Self.run("""
              - id: d7
                run: echo "pin ${{ secrets.pw }} for d7 at 17:07"
            """, pw: "7")
        #expect(r.outcome.status == .succeeded)
        #expect(r.sink.finished.map(\.label) == ["d7"])
        #expect(r.sink.output == ["pin *** for d7 at 17:07"])
    }

    /// A value given to a secret plugin parameter is masked from the first event on — the run's
    /// params too — not only once its step starts (here the step never does).
    @Test func valuesForSecretParametersAreMaskedFromTheStart() async throws {
        let r = try await Harness.run("""
            params:
              repo_pw: {}
            steps:
              - run: echo "using ${{ params.repo_pw }}"
              - if: "false"
                uses: restic
                with: { command: snapshots, repository: /srv/repo-literal-xyz, password: "${{ params['repo_pw'] }}" }
            """, params: ["repo_pw": "flows-into-password-111"])
        #expect(r.outcome.status == .succeeded)
        let all = Self.everything(r)
        #expect(!all.contains("flows-into-password-111") && !all.contains("repo-literal-xyz"))
        #expect(all.contains(#""params":{"repo_pw":"***"}"#))
        #expect(r.sink.output == ["using ***"])
    }
}
