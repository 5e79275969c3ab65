import Foundation
import Testing

/// What the console says (issue 12, points 8 and 9): messages that say what to do, steps named
/// after what they do, counts that match the rows shown.
@Suite(.serialized) struct MessagesCLITests {
    @Test func validateWithoutAPipelinesDirectorySaysWhereItLookedAndWhatToPass() throws {
        let cli = CLI()
        let r = try cli.run("validate")
        #expect(r.status == 2)
        #expect(r.stderr.contains("no pipelines/ directory in "), "\(r.stderr)")
        #expect(r.stderr.contains("`runner validate deploy.yml`"), "\(r.stderr)")
        #expect(!r.stderr.contains("no pipeline 'pipelines'"), "\(r.stderr)")
    }

    @Test func aDeliberateFailPrintsItsMessageWithoutATraceback() throws {
        let cli = CLI()
        cli.write("p.yml", "steps:\n  - name: gate\n    lua: runner.fail('the app is not ready')\n")
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 1)
        #expect(r.stdout.contains("p.yml:3:10: the app is not ready"), "\(r.stdout)")
        #expect(!r.stdout.contains("traceback"), "\(r.stdout)")
        #expect(!r.stdout.contains("main chunk"), "\(r.stdout)")
    }

    /// `uses:` steps without a name are called after their action in the console, the summary
    /// and the run store, not all by the plugin's name.
    @Test func pluginStepsAreNamedAfterTheirAction() throws {
        let cli = CLI()
        cli.write("site/.keep", "")
        cli.write("p.yml", """
            vars: { dir: "\(cli.dir)/site" }
            steps:
              - uses: ssh
                with: { upload: "${{ vars.dir }}/app.json", content: "{}" }
              - uses: ssh
                with: { upload: "${{ vars.dir }}/other.json", content: "{}", mode: "0600" }
              - uses: nginx
                with: { maintenance: "on", flag: "${{ vars.dir }}/app.flag" }
              - uses: nginx
                with: { maintenance: "off", flag: "${{ vars.dir }}/app.flag" }
              - name: named
                uses: ssh
                with: { upload: "${{ vars.dir }}/named.json", content: "{}" }
            """)
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let table = r.stdout.components(separatedBy: "STEP").last ?? ""
        for name in ["ssh upload app.json", "ssh upload other.json", "nginx maintenance on", "nginx maintenance off", "named"] {
            #expect(r.stdout.contains("● \(name)"), "\(name): \(r.stdout)")
            #expect(table.contains("  \(name) "), "\(name) in the summary: \(table)")
        }
        #expect(!table.split(separator: "\n").contains { $0.hasPrefix("  ssh  ") || $0.hasPrefix("  nginx  ") }, "\(table)")
        // The plugin's own commands (stat's `600 user:group`) stay out of the log.
        #expect(!r.stdout.contains(" 600 "), "\(r.stdout)")

        let runs = try cli.run("runs", "--limit", "1").stdout.split(separator: "\n")
        let id = try #require(runs.count > 1 ? runs[1].split(separator: " ").first.map(String.init) : nil)
        let shown = try cli.run("show", id).stdout
        #expect(shown.contains("ssh upload other.json"), "\(shown)")
        #expect(shown.contains("nginx maintenance off"), "\(shown)")
    }

    /// A called pipeline's steps are rows of the summary, indented under the step that called
    /// it, and the counts line counts every row.
    @Test func nestedPipelineCountsMatchTheRowsShown() throws {
        let cli = CLI()
        cli.write("child.yml", "steps:\n  - run: echo a\n  - run: echo b\n  - run: echo c\n")
        cli.write("parent.yml", """
            steps:
              - run: echo start
              - uses: pipeline
                with: { run: child.yml }
              - name: again
                uses: pipeline
                with: { run: child.yml }
            """)
        let r = try cli.run("run", "parent.yml")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let table = r.stdout.components(separatedBy: "STEP").last ?? ""
        let rows = table.split(separator: "\n").filter { $0.contains(" ok ") }.map(String.init)
        #expect(rows.count == 9, "\(table)")
        #expect(r.stdout.contains("succeeded in") && r.stdout.contains(": 9 ok, 0 changed, 0 skipped, 0 failed"), "\(r.stdout)")
        // Each calling step's row comes first, its pipeline's steps indented below it.
        let names = rows.map { $0.split(separator: " ", omittingEmptySubsequences: false).prefix { $0 != "local" }.joined(separator: " ") }
        let expected = ["  echo start", "  pipeline child.yml", "    echo a", "    echo b", "    echo c",
                        "  again", "    echo a", "    echo b", "    echo c"]
        #expect(names.map { $0.trimmingCharacters(in: .whitespaces) } == expected.map { $0.trimmingCharacters(in: .whitespaces) }, "\(table)")
        #expect(zip(names, expected).allSatisfy { $0.hasPrefix($1 + " ") }, "\(table)")
        // Output of a called pipeline's step is not prefixed as if steps ran in parallel.
        #expect(r.stdout.contains("│ a\n"), "\(r.stdout)")
        #expect(!r.stdout.contains("echo a: a"), "\(r.stdout)")
    }
}
