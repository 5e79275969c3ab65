import Foundation
import Testing

/// `runner plan` shows `with:` values with what params, vars and host labels give; step
/// outputs and secrets stay as written, secret values masked.
@Suite(.serialized) struct PlanValuesCLITests {
    @Test func withValuesAreResolvedWhereTheyCanBe() throws {
        let cli = CLI()
        cli.write("p.yml", """
            params:
              app: { default: hello }
              token: { secret: true }
            hosts:
              a: { connection: local, labels: { root: /srv/a } }
              b: { connection: local, labels: { root: /srv/b } }
            vars:
              dir: /srv/apps/sgos-${{ params.app }}
            steps:
              - id: pull
                run: git rev-parse HEAD
              - on: a
                uses: nginx
                with: { maintenance: "on", flag: "${{ host.labels.root }}/flags/sgos-${{ params.app }}.flag" }
              - on: [a, b]
                uses: nginx
                with: { maintenance: "off", flag: "${{ host.labels.root }}/x.flag" }
              - uses: history
                with:
                  pipeline: "deploy-${{ params.app }}@${{ steps.pull.outputs.stdout }}"
                  params: { auth: "Bearer ${{ params.token }}", dir: "${{ vars.dir }}", api: "${{ secrets.api }}" }
            """)
        let r = try cli.run("plan", "p.yml", "token=plan-token-9931")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("flag: /srv/a/flags/sgos-hello.flag"), "\(r.stdout)")
        #expect(r.stdout.contains("flag: /srv/a/x.flag (a), /srv/b/x.flag (b)"), "\(r.stdout)")
        #expect(r.stdout.contains("pipeline: deploy-hello@${{ steps.pull.outputs.stdout }}"), "\(r.stdout)")
        #expect(r.stdout.contains(#""dir":"/srv/apps/sgos-hello""#), "\(r.stdout)")
        #expect(r.stdout.contains(#""auth":"Bearer ***""#), "\(r.stdout)")
        #expect(r.stdout.contains(#""api":"${{ secrets.api }}""#), "\(r.stdout)")
        #expect(!r.stdout.contains("plan-token-9931"))
        #expect(!r.stdout.contains("(expression)"))
    }
}
