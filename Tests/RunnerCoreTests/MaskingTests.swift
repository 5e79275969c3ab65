import Foundation
import RunnerCore
import Testing

@Suite(.serialized) struct MaskingTests {
    @Test func maskerCoversEncodings() {
        let masker = SecretMasker(["s3cr3t/pass+word"])
        #expect(masker.mask("value s3cr3t/pass+word end") == "value *** end")
        let b64 = Data("s3cr3t/pass+word".utf8).base64EncodedString()
        #expect(masker.mask("b64 \(b64)") == "b64 ***")
        #expect(masker.mask("url s3cr3t%2Fpass%2Bword") == "url ***")
    }

    @Test func secretsNeverReachEventsOrErrors() async throws {
        let r = try await Harness.run("""
            params:
              password: { secret: true, required: true }
            secrets:
              - env: RUNNER_TEST_TOKEN
                as: token
            steps:
              - id: leak
                run: |
                  echo "token is ${{ secrets.token }}"
                  echo "encoded $(printf %s '${{ raw(secrets.token) }}' | base64)"
                  echo "password ${{ params.password }}" >&2
              - lua: |
                  runner.log("lua sees " .. secrets.token)
                  return { copy = secrets.token }
              - run: echo "${{ steps.leak.outputs.stdout }}"; echo ${{ secrets.token }} >&2; exit 1
            """, params: ["password": "hunter2-long"], environment: ["RUNNER_TEST_TOKEN": "tok-9f8e7d6c5b"])
        #expect(r.outcome.status == .failed)
        let everything = r.sink.all.map { event -> String in
            var parts = [event.message]
            if case .stepFinished(_, _, _, _, let outputs, let error) = event.kind {
                parts.append(JSON.encode(.map(outputs)))
                parts.append(error ?? "")
            }
            if case .runStarted(_, _, let params, _) = event.kind { parts.append(JSON.encode(.map(params))) }
            return parts.joined(separator: " ")
        }.joined(separator: "\n") + (r.outcome.error ?? "")
        #expect(!everything.contains("tok-9f8e7d6c5b"))
        #expect(!everything.contains(Data("tok-9f8e7d6c5b".utf8).base64EncodedString()))
        #expect(!everything.contains("hunter2-long"))
        #expect(everything.contains("token is ***"))
        #expect(everything.contains("lua sees ***"))
    }

    @Test func secretListsAndNumbersAreMasked() async throws {
        let r = try await Harness.run("""
            params:
              tokens: { type: list, secret: true }
              pin: { type: int, secret: true }
            steps:
              - for_each: ${{ params.tokens }}
                run: echo using ${{ item }}
              - id: out
                lua: return { pin = params.pin, tokens = params.tokens }
            """, params: ["tokens": "alphasecret,betasecret", "pin": "48213"])
        #expect(r.outcome.status == .succeeded)
        var everything = r.sink.transcript
        for event in r.sink.all {
            if case .runStarted(_, _, let params, _) = event.kind { everything += JSON.encode(.map(params)) }
            if case .stepFinished(_, _, _, _, let outputs, _) = event.kind { everything += JSON.encode(.map(outputs)) }
            if let item = event.step?.item { everything += item }
        }
        for secret in ["alphasecret", "betasecret", "48213"] {
            #expect(!everything.contains(secret), "\(secret) leaked: \(everything)")
        }
        #expect(r.sink.output.contains("using ***"))
    }
}
