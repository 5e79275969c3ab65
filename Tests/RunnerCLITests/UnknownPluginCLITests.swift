import Foundation
import Testing

/// A pipeline that uses a Lua plugin it cannot find (the example plugins gchat, http_probe,
/// app_json live in the repository's plugins/, not in the runner) is told where plugins are read
/// from, not only that the name is unknown (issue 12, point 1).
@Suite(.serialized) struct UnknownPluginCLITests {
    @Test func anUnknownPluginSaysWhereLuaPluginsAreLookedFor() throws {
        let cli = CLI()
        cli.write("ops/pipelines/notify.yml", "steps:\n  - uses: gchat\n    with: { webhook: x, text: hi }\n")
        let r = try cli.run(["validate", "ops/pipelines/notify.yml"], env: ["RUNNER_PLUGIN_PATH": "/opt/team-plugins"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("notify.yml:2:11: unknown plugin 'gchat'"), "\(r.stderr)")
        #expect(r.stderr.contains("no gchat.lua was found (looked in ops/pipelines/plugins, ops/plugins, /opt/team-plugins)"), "\(r.stderr)")
        #expect(r.stderr.contains("RUNNER_PLUGIN_PATH"), "\(r.stderr)")

        // With the file where the message says, the same pipeline validates.
        cli.write("ops/plugins/gchat.lua", """
            return { name = "gchat", params = { webhook = { type = "string" }, text = { type = "string" } },
                     run = function(p) return {} end }
            """)
        let fixed = try cli.run("validate", "ops/pipelines/notify.yml")
        #expect(fixed.status == 0, "\(fixed.stdout)\(fixed.stderr)")
    }
}
