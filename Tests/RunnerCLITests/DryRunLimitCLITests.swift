import Foundation
import Testing

/// `runner run --dry-run --limit` shows the plan of the run `--limit` would make: the same host
/// resolution as the run itself.
@Suite struct DryRunLimitCLITests {
    @Test func dryRunWithLimitShowsOnlyTheLimitedHosts() throws {
        let cli = CLI()
        cli.write("p.yml", """
            hosts:
              h1: { connection: local }
              h2: { connection: local }
              db: { connection: local }
            groups:
              web: [h1, h2]
            steps:
              - name: each web
                on: web
                run: touch ran-${{ host.name }}
              - name: listed
                on: [h2, h1, db]
                run: 'true'
              - name: db only
                on: db
                run: 'true'
              - name: here
                run: 'true'
            """)
        let all = try cli.run("run", "p.yml", "--dry-run")
        #expect(all.stdout.contains("each web  [run on h1, h2]"), "\(all.stdout)")

        let dry = try cli.run("run", "p.yml", "--dry-run", "--limit", "h1")
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("each web  [run on h1]"), "\(dry.stdout)")
        #expect(dry.stdout.contains("listed  [run on h1]"), "\(dry.stdout)")
        #expect(dry.stdout.contains("db only  [run on no host within --limit]"), "\(dry.stdout)")
        #expect(dry.stdout.contains("here  [run on local]"), "\(dry.stdout)")
        #expect(!dry.stdout.contains("h2"), "\(dry.stdout)")
        #expect(cli.read("ran-h1") == nil, "a dry run runs nothing")

        // A group given to --limit is its members; the plan shows them in the step's order.
        let group = try cli.run("run", "p.yml", "--dry-run", "--limit", "web")
        #expect(group.stdout.contains("listed  [run on h2, h1]"), "\(group.stdout)")
        #expect(group.stdout.contains("db only  [run on no host within --limit]"), "\(group.stdout)")
    }
}
