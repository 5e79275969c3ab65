import Foundation
import RunnerCore
import RunnerTestSupport
import Testing

/// `container:`: nginx inside a container (the seeds' sgos-proxy), reached with `docker exec`,
/// its sites on the host through a bind mount.
@Suite("nginx plugin in a container", .enabled(if: TestImages.dockerInstalled && TestImages.nginxInstalled, "needs docker.io and nginx (scripts/setup.sh)"))
struct NginxContainerTests {
    @Test func siteInstallAndRollbackThroughDockerExecNameTheHostFile() async throws {
        let image = try TestImages.nginx()
        let name = TestImages.unique("proxy")
        let sites = try makeTemporaryDirectory("runner-proxy-sites")
        defer { try? FileManager.default.removeItem(atPath: sites) }
        try "server { listen 127.0.0.1:8080; return 200 \"v1\\n\"; }\n".write(toFile: sites + "/app.conf", atomically: true, encoding: .utf8)
        try TestImages.docker(["run", "-d", "--name", name, "--network", "none", "-v", "\(sites):/etc/nginx/sites", image])
        defer { _ = try? TestImages.docker(["rm", "-f", name]) }
        let fetch = { try? TestImages.docker(["exec", name, "wget", "-q", "-O-", "http://127.0.0.1:8080/"]) }
        var served: String?
        for _ in 0..<100 where served == nil {
            served = fetch()
            if served == nil { usleep(50_000) }
        }
        #expect(served == "v1\n", "nginx in the container did not answer: \((try? TestImages.docker(["logs", name])) ?? "")")

        let site = sites + "/app.conf"
        let v2 = "server {\n    listen 127.0.0.1:8080;\n    return 200 \"v2\\n\";\n}\n"
        let broken = v2.replacingOccurrences(of: "return 200", with: "retrun 200")
        let (outcome, log) = try await PluginRun(place: .local)([
            "{ id: test, uses: nginx, with: { test: true, container: \(name) } }",
            "{ id: install, uses: nginx, with: { site: \(site), content: \(JSON.encode(.string(v2))), container: \(name) } }",
            "{ id: broken, uses: nginx, with: { site: \(site), content: \(JSON.encode(.string(broken))), container: \(name) } }",
        ])
        #expect(outcome.status == .failed)
        #expect(log.status("test") == .ok, "\(log.transcript)")
        #expect(log.status("install") == .changed, "\(log.transcript)")
        let error = log.error("broken") ?? ""
        #expect(error.contains("\(site):3 (in the container: /etc/nginx/sites/app.conf:3): unknown directive \"retrun\""), "\(error)")
        #expect(error.contains("container \(name)"), "\(error)")
        #expect(try String(contentsOfFile: site, encoding: .utf8) == v2)
        var now: String?
        for _ in 0..<100 {
            now = fetch()
            if now == "v2\n" { break }
            usleep(50_000)
        }
        #expect(now == "v2\n")
    }
}
