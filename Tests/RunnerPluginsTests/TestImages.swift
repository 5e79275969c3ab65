import Foundation
import RunnerCore
import RunnerTestSupport

/// Images for the docker and nginx tests, built once per test process `FROM scratch` with
/// Debian's busybox-static (there is no registry to pull from): `busybox` has a shell, wget and
/// httpd; `nginx` adds Debian's nginx with the libraries it links.
enum TestImages {
    static let dockerInstalled = FileManager.default.isExecutableFile(atPath: "/usr/sbin/dockerd")
    static let nginxInstalled = FileManager.default.isExecutableFile(atPath: "/usr/sbin/nginx")

    static let busyboxTag = "runner-test-busybox:1"
    static let nginxTag = "runner-test-nginx:1"

    /// Runs the docker CLI found on PATH; throws with its output when it fails.
    @discardableResult
    static func docker(_ arguments: [String]) throws -> String {
        try Spawn.run("/usr/bin/env", ["docker"] + arguments)
    }

    /// A name no other test (or earlier run) uses: `runner-t-<what>-<random>`.
    static func unique(_ what: String) -> String {
        "runner-t-\(what)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }

    private static let engine: Result<Void, FixtureError> = {
        do {
            _ = try docker(["info", "--format", "{{.ServerVersion}}"])
            return .success(())
        } catch {
            return .failure(FixtureError("no Docker engine answers (scripts/setup.sh installs docker.io and starts dockerd): \(error)"))
        }
    }()

    private static let busyboxImage: Result<String, FixtureError> = Result {
        try engine.get()
        let directory = try makeTemporaryDirectory("runner-image-busybox")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: directory + "/busybox")
        try """
            FROM scratch
            COPY busybox /bin/busybox
            RUN ["/bin/busybox", "--install", "-s", "/bin"]
            CMD ["sh"]

            """.write(toFile: directory + "/Dockerfile", atomically: true, encoding: .utf8)
        try docker(["build", "-q", "-t", busyboxTag, directory])
        return busyboxTag
    }.mapError { $0 as? FixtureError ?? FixtureError("\($0)") }

    private static let nginxImage: Result<String, FixtureError> = Result {
        _ = try busyboxImage.get()
        let directory = try makeTemporaryDirectory("runner-image-nginx")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let root = directory + "/root"
        // nginx and every library it links, at their paths.
        var files = ["/usr/sbin/nginx", "/etc/nginx/mime.types"]
        let ldd = try Spawn.run("/usr/bin/ldd", ["/usr/sbin/nginx"])
        files += ldd.split(separator: "\n").compactMap { line in line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first { $0.hasPrefix("/") }.map(String.init) }
        for file in files {
            try FileManager.default.createDirectory(atPath: root + Paths.directory(of: file), withIntermediateDirectories: true)
            // Libraries are mostly symlinks (libz.so.1 -> libz.so.1.2.13): copy what they point to.
            let real = URL(fileURLWithPath: file).resolvingSymlinksInPath().path
            try FileManager.default.copyItem(atPath: real, toPath: root + file)
        }
        for path in ["/etc/nginx/sites", "/var/lib/nginx", "/var/log/nginx", "/run", "/tmp"] {
            try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
        }
        try "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
            .write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8)
        try "root:x:0:\nnogroup:x:65534:\n".write(toFile: root + "/etc/group", atomically: true, encoding: .utf8)
        try NginxTestConfig.main(pid: "/run/nginx.pid", directory: "/var/lib/nginx", sites: "/etc/nginx/sites", daemon: false)
            .write(toFile: root + "/etc/nginx/nginx.conf", atomically: true, encoding: .utf8)
        try """
            FROM \(busyboxTag)
            COPY root/ /
            CMD ["nginx"]

            """.write(toFile: directory + "/Dockerfile", atomically: true, encoding: .utf8)
        try docker(["build", "-q", "-t", nginxTag, directory])
        return nginxTag
    }.mapError { $0 as? FixtureError ?? FixtureError("\($0)") }

    /// The busybox image's tag, built on first use.
    static func busybox() throws -> String { try busyboxImage.get() }
    /// The nginx image's tag, built on first use.
    static func nginx() throws -> String { try nginxImage.get() }
}

