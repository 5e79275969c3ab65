import Foundation
import Testing

/// Names people type: subcommands, pipelines, and the typos validation catches.
@Suite(.serialized) struct NamesCLITests {
    @Test func misspeltSubcommandSuggestsTheRightOne() throws {
        let cli = CLI()
        let r = try cli.run("valdate", "deploy")
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: unknown command 'valdate' (did you mean 'validate'?)"), "\(r.stderr)")
        #expect(try cli.run("help", "validate").status == 0)
    }

    /// `runner list` shows what `runner run` takes (the file name), and `name:` when it differs;
    /// typing that `name:` says which file it is.
    @Test func pipelinesAreCalledByTheirFileName() throws {
        let cli = CLI()
        cli.write("pipelines/deploy-app.yml", "name: deploy\nsteps:\n  - run: echo deployed\n")
        let list = try cli.run("list")
        #expect(list.stdout.contains("deploy-app  (pipelines/deploy-app.yml, name: deploy)"), "\(list.stdout)")
        #expect(try cli.run("run", "deploy-app").status == 0)
        let byName = try cli.run("run", "deploy")
        #expect(byName.status == 2)
        #expect(byName.stderr.contains("no pipeline 'deploy' (pipelines/deploy-app.yml has name: deploy; pipelines are called by their file name: 'deploy-app')"), "\(byName.stderr)")
        let typo = try cli.run("plan", "deploy-ap")
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("no pipeline 'deploy-ap' (did you mean 'deploy-app'?)"), "\(typo.stderr)")
    }

    /// The typos, caught by validate and plan before anything runs.
    @Test func typosFailValidateAndPlanWithTheirLocation() throws {
        let cli = CLI()
        cli.write("pipelines/deploy.yml", """
            params:
              app: { default: phone }
            steps:
              - run: touch ran
              - id: pull
                run: echo ${{ parms.app }}
              - run: echo "${{ steps.nope.outputs.stdout }}"
              - uses: pipeline
                with: { run: rollbak }
            """)
        cli.write("pipelines/rollback.yml", "steps:\n  - run: echo rollback\n")
        for command in ["validate", "plan", "run"] {
            let r = try cli.run(command, "deploy")
            #expect(r.status == 2, "\(command): \(r.stderr)")
            #expect(r.stderr.contains("pipelines/deploy.yml:6:15: unknown name 'parms' (did you mean 'params'?)"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("pipelines/deploy.yml:7:16: steps.nope: no step has the id 'nope'"), "\(command): \(r.stderr)")
            #expect(r.stderr.contains("pipelines/deploy.yml:9:18: no pipeline 'rollbak' (did you mean 'rollback'?)"), "\(command): \(r.stderr)")
        }
        #expect(cli.read("ran") == nil)
    }
}
