import Foundation
import RunnerCore
import RunnerTestSupport
import Testing

/// The nginx plugin against a real nginx on loopback: locally, and through SSH with `sudo: true`
/// (the configuration is root's, as on a real proxy host).
@Suite("nginx plugin", .enabled(if: TestImages.nginxInstalled, "nginx is not installed (scripts/setup.sh installs it)"))
struct NginxPluginTests {
    /// `nginx` with the server's configuration file, as a step's `with:` prefix.
    private func nginx(_ server: NginxServer) -> String { "uses: nginx, with: { config: \(server.config), binary: /usr/sbin/nginx, " }

    @Test(arguments: Where.allCases)
    func configTestErrorsNameTheFileAndLine(_ place: Where) async throws {
        let server = try NginxServer()
        defer { server.stop() }
        let (valid, validLog) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: test, ON \(nginx(server)) test: true } }",
        ])
        #expect(valid.status == .succeeded, "\(validLog.transcript)")
        #expect(validLog.status("test") == .ok)

        let broken = server.sites + "/broken.conf"
        try "server {\n    listen 127.0.0.1:\(try freePort());\n    bogus_directive on;\n}\n".write(toFile: broken, atomically: true, encoding: .utf8)
        let (outcome, log) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: test, ON \(nginx(server)) test: true } }",
        ])
        #expect(outcome.status == .failed)
        let error = log.error("test") ?? ""
        #expect(error.contains("nginx configuration test failed"), "\(error)")
        #expect(error.contains("\(broken):3: unknown directive \"bogus_directive\""), "\(error)")
        #expect(log.outputs("test")["file"] == .string(broken))
        #expect(log.outputs("test")["line"] == 3)
    }

    @Test(arguments: Where.allCases)
    func reloadIsRefusedForABrokenConfigAndTheOldOneKeepsServing(_ place: Where) async throws {
        let server = try NginxServer(body: "v1")
        defer { server.stop() }
        let good = NginxTestConfig.site(port: server.port, body: "v2", flag: server.flag, pages: server.pages)
        try good.replacingOccurrences(of: "location /", with: "bogus;\n    location /").write(toFile: server.site, atomically: true, encoding: .utf8)
        let (refused, log) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: reload, ON \(nginx(server)) reload: true } }",
        ])
        #expect(refused.status == .failed)
        let error = log.error("reload") ?? ""
        #expect(error.contains("refusing to reload a broken configuration"), "\(error)")
        #expect(error.contains("\(server.site):5: unknown directive \"bogus\""), "\(error)")
        #expect(try server.get() == (200, "v1"), "the running nginx still serves the old configuration")

        try good.write(toFile: server.site, atomically: true, encoding: .utf8)
        let (reloaded, log2) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: reload, ON \(nginx(server)) reload: true } }",
        ])
        #expect(reloaded.status == .succeeded, "\(log2.transcript)")
        #expect(log2.status("reload") == .changed)
        #expect(server.waitFor(body: "v2"), "\(server.log())")
    }

    @Test(arguments: Where.allCases)
    func siteInstallTestsReloadsAndRollsBackABrokenSite(_ place: Where) async throws {
        let server = try NginxServer(body: "v1")
        defer { server.stop() }
        let v2 = NginxTestConfig.site(port: server.port, body: "v2", flag: server.flag, pages: server.pages)
        let source = server.directory + "/v2.conf"
        try v2.write(toFile: source, atomically: true, encoding: .utf8)
        let (installed, log) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: install, ON \(nginx(server)) site: \(server.site), src: \(source) } }",
            "{ id: again, ON \(nginx(server)) site: \(server.site), src: \(source) } }",
        ])
        #expect(installed.status == .succeeded, "\(log.transcript)")
        #expect(log.status("install") == .changed)
        #expect(log.status("again") == .ok, "the same file again changes nothing")
        #expect(server.waitFor(body: "v2"), "\(server.log())")

        // A broken site: nginx rejects it, the previous file comes back, nothing is reloaded.
        let broken = v2.replacingOccurrences(of: "return 200", with: "retrun 200")
        let fresh = server.sites + "/new.conf"
        let (rejected, log2) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: install, ON \(nginx(server)) site: \(server.site), content: \(JSON.encode(.string(broken))) }, continue_on_error: true }",
            "{ id: fresh, ON \(nginx(server)) site: \(fresh), content: \(JSON.encode(.string(broken))) } }",
        ])
        #expect(rejected.status == .failed)
        let error = log2.error("install") ?? ""
        #expect(error.contains("nginx rejected the new \(server.site)"), "\(error)")
        #expect(error.contains("\(server.site):7: unknown directive \"retrun\""), "\(error)")
        #expect(error.contains("the previous \(server.site) is back"), "\(error)")
        #expect(server.read(server.site) == v2)
        #expect(log2.error("fresh")?.contains("\(fresh) was removed again") == true, "\(log2.transcript)")
        #expect(!FileManager.default.fileExists(atPath: fresh))
        #expect(try server.get() == (200, "v2"))
    }

    @Test(arguments: Where.allCases)
    func maintenanceFlagSwitchesTheProxyToA503PageAndBack(_ place: Where) async throws {
        let server = try NginxServer(body: "v1")
        defer { server.stop() }
        let flag = "uses: nginx, with: { flag: \(server.flag), maintenance: "
        let (on, log) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: on, ON \(flag) on } }",
            "{ id: again, ON \(flag) on } }",
        ])
        #expect(on.status == .succeeded, "\(log.transcript)")
        #expect(log.status("on") == .changed)
        #expect(log.status("again") == .ok)
        #expect(log.outputs("again")["maintenance"] == "on")
        let during = try server.get()
        #expect(during.status == 503)
        #expect(during.body.contains("Down for maintenance"))

        // Off in `finally`, after a failed deploy step; off again does no harm.
        let (failed, log2) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: deploy, ON run: 'echo deploy failed >&2; exit 1' }",
        ], finally: [
            "{ id: off, ON \(flag) off } }",
            "{ id: again, ON \(flag) off } }",
        ])
        #expect(failed.status == .failed)
        #expect(log2.status("off") == .changed, "\(log2.transcript)")
        #expect(log2.status("again") == .ok)
        #expect(try server.get() == (200, "v1"))
        #expect(!FileManager.default.fileExists(atPath: server.flag))
    }

    @Test func aMissingFlagDirectoryIsAnError() async throws {
        let (outcome, log) = try await PluginRun(place: .local)([
            "{ id: on, uses: nginx, with: { flag: /nonexistent/flags/app.flag, maintenance: on } }",
        ])
        #expect(outcome.status == .failed)
        #expect(log.error("on")?.contains("cannot create /nonexistent/flags/app.flag") == true, "\(log.transcript)")
    }

    /// A host without nginx (or with it outside the PATH) gets a message saying so and naming
    /// `binary:`, not "configuration test failed".
    @Test(arguments: Where.allCases)
    func aMissingNginxIsNamedAsSuch(_ place: Where) async throws {
        let (outcome, log) = try await PluginRun(place: place, sudo: place == .ssh)([
            "{ id: test, ON uses: nginx, with: { test: true, binary: nginx-not-installed-here } }",
        ])
        #expect(outcome.status == .failed)
        let error = log.error("test") ?? ""
        #expect(error.contains("Is nginx installed?"), "\(error)")
        #expect(error.contains("`binary:`"), "\(error)")
        #expect(!error.contains("configuration test failed"), "\(error)")
    }

    /// sudo refusing (no `sudo_password` for a host that needs one) is not a configuration problem.
    @Test func sudoRefusingIsNamedAsSuch() async throws {
        let server = try NginxServer()
        defer { server.stop() }
        let (outcome, log) = try await PluginRun(place: .ssh)([
            "{ id: test, ON sudo: true, \(nginx(server)) test: true } }",
        ])
        #expect(outcome.status == .failed)
        let error = log.error("test") ?? ""
        #expect(error.contains("could not run on web: sudo refused"), "\(error)")
        #expect(error.contains("`sudo_password`"), "\(error)")
        #expect(!error.contains("configuration test failed"), "\(error)")
    }
}
