import Foundation
import RunnerCore
import Testing

/// A step on several hosts has outputs `{ results: [{ host, status, outputs }] }`; reading
/// `outputs.stdout` of it is an error naming that shape, not a silent nil.
@Suite(.serialized) struct FanOutOutputsTests {
    static let inventory = """
        hosts:
          web1: { connection: local }
          web2: { connection: local }
          solo: { connection: local }
        groups:
          web: [web1, web2]
          single: [solo]
        """

    /// `on:` computed at run time: validation cannot know, the read fails when it happens,
    /// in an expression and in a `lua:` step.
    @Test func readingOneHostsOutputsOfAFanOutFailsAtRunTime() async throws {
        let r = try await Harness.run(Self.inventory + """

            params:
              target: { default: web }
            steps:
              - id: each
                on: ${{ params.target }}
                run: echo on ${{ host.name }}
              - name: reads stdout
                run: echo "${{ steps.each.outputs.stdout }}"
              - name: lua reads
                if: always()
                lua: return { out = steps.each.outputs.stdout }
            """)
        #expect(r.outcome.status == .failed)
        let error = r.sink.finished.first { $0.label == "reads stdout" }?.error ?? ""
        #expect(error.contains("steps.each.outputs.stdout: step 'each' ran on 2 hosts: its outputs are steps.each.outputs.results[i].outputs.stdout"), "\(error)")
        let luaError = r.sink.finished.first { $0.label == "lua reads" }?.error ?? ""
        #expect(luaError.contains("step 'each' ran on 2 hosts"), "\(luaError)")
    }

    /// The shape follows how `on:` is written: a group (even of one host) or a list gives
    /// results, one host name gives the outputs themselves.
    @Test func shapeFollowsHowOnIsWritten() async throws {
        let r = try await Harness.run(Self.inventory + """

            steps:
              - id: group
                on: single
                run: echo group
              - id: list
                on: [solo]
                run: echo list
              - id: host
                on: solo
                run: echo host
              - id: computed
                on: ${{ 'single' }}
                run: echo computed
              - lua: |
                  return {
                    group = steps.group.outputs.results[1].outputs.stdout,
                    host_of_group = steps.group.outputs.results[1].host,
                    list = steps.list.outputs.results[1].outputs.stdout,
                    host = steps.host.outputs.stdout,
                    computed = steps.computed.outputs.results[1].outputs.stdout,
                  }
            """)
        #expect(r.outcome.status == .succeeded, "\(r.sink.transcript)")
        let outputs = r.sink.finished.last?.outputs ?? [:]
        #expect(outputs == ["group": "group", "host_of_group": "solo", "list": "list", "host": "host", "computed": "computed"])
    }
}
