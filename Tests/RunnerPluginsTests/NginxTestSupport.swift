import Foundation
import RunnerTestSupport
import Synchronization

/// nginx configuration for the tests: a main file that includes `sites/*.conf`, and the proxy
/// site of the seeds (a flag file switches it to a 503 maintenance page).
enum NginxTestConfig {
    static func main(pid: String, directory: String, sites: String, daemon: Bool) -> String {
        """
        daemon \(daemon ? "on" : "off");
        worker_processes 1;
        pid \(pid);
        error_log stderr warn;
        events { worker_connections 64; }
        http {
            access_log off;
            default_type text/plain;
            client_body_temp_path \(directory)/body;
            proxy_temp_path \(directory)/proxy;
            fastcgi_temp_path \(directory)/fastcgi;
            uwsgi_temp_path \(directory)/uwsgi;
            scgi_temp_path \(directory)/scgi;
            include \(sites)/*.conf;
        }

        """
    }

    /// A server on `port` answering `body`, or the maintenance page (503) while `flag` exists.
    static func site(port: Int, body: String, flag: String, pages: String) -> String {
        """
        server {
            listen 127.0.0.1:\(port);
            error_page 503 /maintenance.html;
            location = /maintenance.html { root \(pages); internal; }
            location / {
                if (-f \(flag)) { return 503; }
                return 200 "\(body)\\n";
            }
        }

        """
    }
}

/// A real nginx on 127.0.0.1, started by the test as root (`daemon off`, so it is our child)
/// with its configuration, pid file, sites and flags in one temporary directory.
final class NginxServer: Sendable {
    let directory: String
    let port: Int
    private let pid: pid_t
    private let stopped = Mutex(false)

    var config: String { directory + "/nginx.conf" }
    var sites: String { directory + "/sites" }
    var flag: String { directory + "/flags/app.flag" }
    var pages: String { directory + "/html" }
    var site: String { sites + "/app.conf" }

    init(body: String = "v1") throws {
        directory = try makeTemporaryDirectory("runner-nginx")
        port = try freePort()
        for sub in ["sites", "flags", "html"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        try NginxTestConfig.main(pid: directory + "/nginx.pid", directory: directory, sites: directory + "/sites", daemon: false)
            .write(toFile: directory + "/nginx.conf", atomically: true, encoding: .utf8)
        try "<h1>Down for maintenance</h1>\n".write(toFile: directory + "/html/maintenance.html", atomically: true, encoding: .utf8)
        try NginxTestConfig.site(port: port, body: body, flag: directory + "/flags/app.flag", pages: directory + "/html")
            .write(toFile: directory + "/sites/app.conf", atomically: true, encoding: .utf8)
        pid = try Spawn.start("/usr/sbin/nginx", ["-c", directory + "/nginx.conf"], logFile: directory + "/nginx.log")
        for _ in 0..<200 {
            if (try? get()) != nil { return }
            guard Spawn.isRunning(pid) else { throw FixtureError("nginx exited: \(log())") }
            usleep(25_000)
        }
        throw FixtureError("nginx did not answer on port \(port): \(log())")
    }

    deinit { stop() }

    /// Graceful stop (SIGQUIT), once; its directory goes too.
    func stop() {
        guard stopped.withLock({ done in defer { done = true }; return !done }) else { return }
        kill(pid, SIGQUIT)
        Spawn.wait(pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func log() -> String { (try? String(contentsOfFile: directory + "/nginx.log", encoding: .utf8)) ?? "" }

    /// GET / → (status, body).
    func get() throws -> (status: Int, body: String) {
        let output = try Spawn.run("/usr/bin/curl", ["-s", "--max-time", "5", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/"])
        guard let newline = output.lastIndex(of: "\n"), let status = Int(output[output.index(after: newline)...]), status > 0 else {
            throw FixtureError("no HTTP answer from nginx on \(port): \(output)")
        }
        return (status, output[..<newline].trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Polls until GET / answers `body` (a reload takes effect when new workers start).
    func waitFor(body: String) -> Bool {
        for _ in 0..<100 {
            if (try? get())?.body == body { return true }
            usleep(50_000)
        }
        return false
    }

    func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
}
