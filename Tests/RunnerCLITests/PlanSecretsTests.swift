import Foundation
import Testing

/// `runner plan` and `run --dry-run` never print a secret: plugin parameters marked secret (Swift
/// and Lua plugins, maps of credentials), params declared secret, and values that flow into a
/// secret parameter wherever else they show.
@Suite(.serialized) struct PlanSecretsTests {
    static let secrets = ["literal-restic-pw-123", "literal-aws-secret-456", "literal-hook-key-789",
                          "param-secret-000", "flows-into-password-111", "literal-url-pw-222"]

    func cli() -> CLI {
        let cli = CLI()
        cli.write("plugins/notify.lua", """
            return {
              name = "notify",
              description = "Post a message",
              params = {
                webhook = { type = "string", required = true, secret = true, doc = "URL with its key" },
                text = { type = "string", required = true, doc = "Message" },
              },
              run = function(with, ctx) return {} end,
            }
            """)
        cli.write("p.yml", """
            params:
              pw: { secret: true }
              repo_pw: {}
            vars:
              url: https://ops:${{ params.pw }}@backup.example
            steps:
              - uses: restic
                with:
                  command: snapshots
                  repository: s3:https://s3.example/bucket
                  password: literal-restic-pw-123
                  env: { AWS_ACCESS_KEY_ID: AKIAEXAMPLE, AWS_SECRET_ACCESS_KEY: literal-aws-secret-456 }
              - uses: restic
                with:
                  command: check
                  repository: rest:https://backup:literal-url-pw-222@rest.example/repo
                  password: ${{ params.repo_pw }}
              - uses: notify
                with: { webhook: "https://hooks.example/?key=literal-hook-key-789", text: hello }
              - run: echo ${{ params.repo_pw }} ${{ vars.url }} literal-restic-pw-123
            """)
        return cli
    }

    @Test func planAndDryRunMaskSecretParameters() throws {
        let cli = cli()
        let plan = try cli.run("plan", "p.yml", "pw=param-secret-000", "repo_pw=flows-into-password-111")
        let dry = try cli.run("run", "p.yml", "pw=param-secret-000", "repo_pw=flows-into-password-111", "--dry-run")
        for (args, r) in [(["plan"], plan), (["run"], dry)] {
            #expect(r.status == 0, "\(r.stderr)")
            for secret in Self.secrets {
                #expect(!(r.stdout + r.stderr).contains(secret), "\(args[0]): \(secret) in\n\(r.stdout)\(r.stderr)")
            }
            #expect(r.stdout.contains("command: check\n      password: ***"), "\(r.stdout)")
            #expect(r.stdout.contains(#"env: {"AWS_ACCESS_KEY_ID":"***","AWS_SECRET_ACCESS_KEY":"***"}"#), "\(r.stdout)")
            #expect(r.stdout.contains("webhook: ***"))
            #expect(r.stdout.contains("text: hello"))
            #expect(r.stdout.contains("url = https://ops:***@backup.example"))
            #expect(r.stdout.contains("repo_pw = ***"))
            // A repository's location is shown; only the credentials in its URL are masked.
            #expect(r.stdout.contains("repository: s3:https://s3.example/bucket"), "\(r.stdout)")
            #expect(r.stdout.contains("repository: rest:https://backup:***@rest.example/repo"), "\(r.stdout)")
        }
    }
}
