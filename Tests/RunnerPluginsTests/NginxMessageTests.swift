import RunnerCore
@testable import RunnerPlugins
import Testing

/// Translating nginx's diagnostics to file:line, and container paths to host paths.
@Suite struct NginxMessageTests {
    @Test func bothMessageFormsParse() {
        let plain = NginxMessage.parse(line: #"nginx: [emerg] unknown directive "retrun" in /etc/nginx/conf.d/phone.conf:12"#)
        #expect(plain == NginxMessage(level: "emerg", message: #"unknown directive "retrun""#, file: "/etc/nginx/conf.d/phone.conf", line: 12))
        #expect(plain?.text == #"/etc/nginx/conf.d/phone.conf:12: unknown directive "retrun""#)

        let logged = NginxMessage.parse(line: #"2026/11/22 08:18:12 [emerg] 10348#10348: host not found in upstream "app:80" in /srv/proxy/nginx.conf:40"#)
        #expect(logged?.file == "/srv/proxy/nginx.conf")
        #expect(logged?.line == 40)
        #expect(logged?.message == #"host not found in upstream "app:80""#)

        let noPlace = NginxMessage.parse(line: #"nginx: [emerg] open() "/run/nginx.pid" failed (13: Permission denied)"#)
        #expect(noPlace?.file == nil)
        #expect(noPlace?.text == #"open() "/run/nginx.pid" failed (13: Permission denied)"#)
        #expect(NginxMessage.parse(line: "nginx: configuration file /etc/nginx/nginx.conf test failed") == nil)
        #expect(NginxMessage.parse("nginx: [warn] conflicting server name \"a\" on 0.0.0.0:80, ignored\nnginx: the configuration file x syntax is ok").map(\.level) == ["warn"])
    }

    @Test func commandLines() {
        #expect(NginxCLI.argv(["-t"], binary: "nginx", config: nil, container: nil) == ["nginx", "-t"])
        #expect(NginxCLI.argv(["-s", "reload"], binary: "nginx", config: "/srv/proxy/nginx.conf", container: "sgos-proxy")
                == ["docker", "exec", "--", "sgos-proxy", "nginx", "-c", "/srv/proxy/nginx.conf", "-s", "reload"])
    }

    @Test func containerPathsMapThroughTheDeepestMount() {
        let mounts: [[String: Value]] = [
            ["Source": "/srv/proxy/hornbill", "Destination": "/etc/nginx"],
            ["Source": "/srv/proxy/hornbill/sites", "Destination": "/etc/nginx/sites"],
        ]
        #expect(NginxCLI.hostPath("/etc/nginx/sites/phone.conf", mounts: mounts) == "/srv/proxy/hornbill/sites/phone.conf")
        #expect(NginxCLI.hostPath("/etc/nginx/nginx.conf", mounts: mounts) == "/srv/proxy/hornbill/nginx.conf")
        #expect(NginxCLI.hostPath("/etc/nginxy/a.conf", mounts: mounts) == nil)
        var message = NginxMessage(level: "emerg", message: "bad", file: "/srv/a.conf", line: 3)
        message.containerFile = "/etc/nginx/a.conf"
        #expect(message.text == "/srv/a.conf:3 (in the container: /etc/nginx/a.conf:3): bad")
    }
}
