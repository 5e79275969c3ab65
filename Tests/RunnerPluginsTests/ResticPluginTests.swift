import Foundation
import RunnerCore
import RunnerTestSupport
import Testing

private let resticInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/restic")

/// An S3-compatible endpoint on loopback: moto's server (PyPI `moto[server]`), which
/// scripts/setup.sh installs.
private final class MotoServer: Sendable {
    let port: Int
    private let pid: pid_t

    init() throws {
        port = try freePort()
        let directory = try makeTemporaryDirectory("runner-moto")
        pid = try Spawn.start("/usr/bin/env", ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)],
                              logFile: directory + "/moto.log")
        for _ in 0..<300 {
            if (try? Spawn.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/"])) != nil { return }
            guard Spawn.isRunning(pid) else {
                throw FixtureError("moto server exited: \((try? String(contentsOfFile: directory + "/moto.log", encoding: .utf8)) ?? "")")
            }
            usleep(50_000)
        }
        throw FixtureError("moto server did not start on port \(port)")
    }

    func stop() {
        kill(pid, SIGKILL)  // werkzeug's server ignores SIGTERM while it serves
        Spawn.wait(pid)
    }
}

/// A pipeline step calling restic with this repository and password.
private func step(_ id: String, _ command: String, repo: String, password: String, _ extra: String = "") -> String {
    "  - { id: \(id), uses: restic, with: { command: \(command), repository: \"\(repo)\", password: \"\(password)\"\(extra.isEmpty ? "" : ", " + extra) } }\n"
}

@Suite("restic plugin", .enabled(if: resticInstalled, "restic is not installed (scripts/setup.sh installs it)"))
struct ResticPluginTests {
    @Test func backupForgetRestoreOnALocalRepository() async throws {
        let work = try makeTemporaryDirectory("runner-restic")
        let data = work + "/data", repo = work + "/repo", password = "pw-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: data + "/db", withIntermediateDirectories: true)
        try "first\n".write(toFile: data + "/a.txt", atomically: true, encoding: .utf8)
        try "dump\n".write(toFile: data + "/db/dump.sql", atomically: true, encoding: .utf8)
        try "tmp\n".write(toFile: data + "/skip.tmp", atomically: true, encoding: .utf8)
        let backup = "paths: [\(data)], exclude: [\"*.tmp\"], tags: [daily], host: hornbill, status_file: \(work)/status.json"
        var yaml = "steps:\n" + step("one", "backup", repo: repo, password: password, backup)
        yaml += "  - run: echo second > \(data)/a.txt\n"
        yaml += step("two", "backup", repo: repo, password: password, backup)
        yaml += step("three", "backup", repo: repo, password: password, backup)
        yaml += step("list", "snapshots", repo: repo, password: password, "tags: [daily]")
        yaml += step("forget", "forget", repo: repo, password: password, "keep_daily: 7, keep_weekly: 4, keep_monthly: 3")
        yaml += step("after", "snapshots", repo: repo, password: password)
        yaml += step("check", "check", repo: repo, password: password, "read_data_subset: \"50%\"")
        yaml += step("restore", "restore", repo: repo, password: password, "target: \(work)/restored, include: [\(data)/a.txt]")
        yaml += "  - run: echo \"${{#steps.list.outputs.snapshots}} ${{#steps.after.outputs.snapshots}} ${{ steps.two.outputs.files_changed }} ${{ steps.one.outputs.files_new }}\"\n"
        let (outcome, log) = try await runOverSSH(yaml, inventory: "hosts: {}\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        // 3 snapshots on one day; 7 daily / 4 weekly / 3 monthly keeps the newest of the day.
        // (snapshots before forget, after forget, files changed by backup two, new files in backup one)
        #expect(log.transcript.contains("3 1 1 2"), "\(log.transcript)")
        #expect(log.status("forget") == .changed)
        #expect(try String(contentsOfFile: work + "/restored" + data + "/a.txt", encoding: .utf8) == "second\n")
        #expect(!FileManager.default.fileExists(atPath: work + "/restored" + data + "/db/dump.sql"))
        let status = try String(contentsOfFile: work + "/status.json", encoding: .utf8)
        #expect(status.contains("\"result\":\"success\""))
        #expect(status.contains("\"snapshot\""))
        #expect(!log.transcript.contains(password))
        // forget's JSON is the plugin's to read; the log says what happened.
        #expect(!log.transcript.contains("\"reasons\""), "\(log.transcript)")
        #expect(log.transcript.contains("forgot 2 snapshot(s) and pruned unused data"), "\(log.transcript)")
    }

    /// A repository that is not there is named (a location is not a secret), with what creates one.
    @Test func aMissingRepositoryIsNamed() async throws {
        let work = try makeTemporaryDirectory("runner-restic-missing")
        let repo = work + "/no-repo-here", password = "pw-\(UInt64.random(in: 0...UInt64.max))"
        let (outcome, log) = try await runOverSSH("steps:\n" + step("list", "snapshots", repo: repo, password: password), inventory: "hosts: {}\n")
        #expect(outcome.status == .failed)
        let error = log.error("list") ?? ""
        #expect(error.contains("no repository at \(repo)"), "\(error)")
        #expect(error.contains("`command: init` creates one"), "\(error)")
        #expect(!log.transcript.contains(password))
    }

    /// Credentials inside a repository URL stay masked; the rest of the URL is shown.
    @Test func credentialsInTheRepositoryURLAreMasked() async throws {
        let port = try freePort()  // nothing listens there
        let token = "url-token-\(UInt64.random(in: 0...UInt64.max))", key = "url-key-\(UInt64.random(in: 0...UInt64.max))"
        // restic itself hides a URL's password, but prints a lone token and query values as they are.
        let repo = "rest:http://\(token)@127.0.0.1:\(port)/repo?key=\(key)"
        let (outcome, log) = try await runOverSSH("steps:\n" + step("list", "snapshots", repo: repo, password: "pw"), inventory: "hosts: {}\n")
        #expect(outcome.status == .failed)
        #expect(log.error("list")?.contains("127.0.0.1:\(port)/repo") == true, "\(log.transcript)")
        #expect(!log.transcript.contains(token), "\(log.transcript)")
        #expect(!log.transcript.contains(key), "\(log.transcript)")
    }

    @Test func repositoryCredentials() {
        #expect(URLCredentials.parts(of: "/srv/backups/repo") == [])
        #expect(URLCredentials.parts(of: "sftp:backup@host:/srv/repo") == [])
        #expect(URLCredentials.parts(of: "s3:https://s3.example.com/bucket/path") == [])
        #expect(URLCredentials.parts(of: "rest:https://user:p%40ss@host:8000/repo") == ["p%40ss"])
        #expect(URLCredentials.parts(of: "rest:https://TOKEN@host/") == ["TOKEN"])
        #expect(URLCredentials.parts(of: "s3:https://host/bucket?access_key=AK&secret=SK") == ["AK", "SK"])
    }

    /// `password_file`: restic reads the password from a file on the host (RESTIC_PASSWORD_FILE),
    /// as the control host keeps it (/srv/services/backups); a wrong file's password is refused.
    @Test func passwordFromAFileOnTheHost() async throws {
        let work = try makeTemporaryDirectory("runner-restic-file")
        let repo = work + "/repo", password = "pw-\(UInt64.random(in: 0...UInt64.max))"
        try "data\n".write(toFile: work + "/a.txt", atomically: true, encoding: .utf8)
        try (password + "\n").write(toFile: work + "/password", atomically: true, encoding: .utf8)
        try "other\n".write(toFile: work + "/wrong", atomically: true, encoding: .utf8)
        func uses(_ file: String, _ command: String, _ extra: String) -> String {
            "uses: restic, with: { command: \(command), repository: \"\(repo)\", password_file: \"\(work)/\(file)\", \(extra) }"
        }
        let yaml = "steps:\n  - { id: b, \(uses("password", "backup", "paths: [\(work)/a.txt]")) }\n"
            + "  - { id: s, \(uses("password", "snapshots", "tags: []")) }\n"
            + "  - run: echo \"snapshots ${{#steps.s.outputs.snapshots}}\"\n"
            + "  - { id: w, continue_on_error: true, \(uses("wrong", "snapshots", "tags: []")) }\n"
        let (outcome, log) = try await runOverSSH(yaml, inventory: "hosts: {}\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.transcript.contains("snapshots 1"), "\(log.transcript)")
        #expect(log.status("w") == .failed)
        #expect(log.transcript.contains("wrong repository password"), "\(log.transcript)")
        #expect(!log.transcript.contains(password))
    }

    /// Issue 10: `restic snapshots` of a repository whose listing is one JSON line far over
    /// 64 KiB (four snapshots with 30 000-character tags) crashed the runner. It must parse whole.
    @Test func snapshotsWithLongTagsParseWhole() async throws {
        let work = try makeTemporaryDirectory("runner-restic-long")
        let repo = work + "/repo", password = "pw-\(UInt64.random(in: 0...UInt64.max))"
        try "data\n".write(toFile: work + "/a.txt", atomically: true, encoding: .utf8)
        let tags = (1...4).map { "t\($0)-" + String(repeating: "x", count: 30_000) }
        var yaml = "steps:\n"
        for (index, tag) in tags.enumerated() {
            yaml += step("b\(index)", "backup", repo: repo, password: password, "paths: [\(work)/a.txt], tags: [\(tag)]")
        }
        yaml += step("list", "snapshots", repo: repo, password: password)
        yaml += "  - run: 'echo \"${{ #steps.list.outputs.snapshots }} ${{ #steps.list.outputs.snapshots[4].tags[1] }}\"'\n"
        let (outcome, log) = try await runOverSSH(yaml, inventory: "hosts: {}\n")
        #expect(outcome.status == .succeeded, "\(log.transcript.prefix(3000))")
        #expect(log.transcript.contains("4 30003"), "\(log.transcript.suffix(500))")
    }

    @Test func wrongPasswordFailsClearlyWithoutShowingIt() async throws {
        let work = try makeTemporaryDirectory("runner-restic-pw")
        let repo = work + "/repo"
        let (created, createdLog) = try await runOverSSH("steps:\n" + step("init", "init", repo: repo, password: "right-pw-4821"), inventory: "hosts: {}\n")
        #expect(created.status == .succeeded, "\(createdLog.transcript)")
        let (outcome, log) = try await runOverSSH("steps:\n" + step("list", "snapshots", repo: repo, password: "wrong-pw-9917"), inventory: "hosts: {}\n")
        #expect(outcome.status == .failed)
        #expect(log.error("list")?.contains("wrong repository password") == true, "\(log.finished)")
        #expect(!log.transcript.contains("wrong-pw-9917"))
        // A backup with the wrong password must not "initialise" over the existing repository.
        let (backup, backupLog) = try await runOverSSH(
            "steps:\n" + step("b", "backup", repo: repo, password: "wrong-pw-9917", "paths: [\(work)], status_file: \(work)/status.json"),
            inventory: "hosts: {}\n")
        #expect(backup.status == .failed)
        #expect(backupLog.error("b")?.contains("wrong repository password") == true, "\(backupLog.finished)")
        #expect(try String(contentsOfFile: work + "/status.json", encoding: .utf8).contains("\"result\":\"failure\""))
    }

    @Test func unreachableRepositoryFailsClearly() async throws {
        let port = try freePort()
        let repo = "s3:http://127.0.0.1:\(port)/nowhere"
        let (outcome, log) = try await runOverSSH(
            "steps:\n" + step("list", "snapshots", repo: repo, password: "pw", "env: { AWS_ACCESS_KEY_ID: k, AWS_SECRET_ACCESS_KEY: sk-31337 }"),
            inventory: "hosts: {}\n")
        #expect(outcome.status == .failed)
        #expect(log.error("list")?.contains("cannot be reached") == true, "\(log.finished)")
        // The location is not a secret: the message says which repository (the credentials stay masked).
        #expect(log.error("list")?.contains("no repository at \(repo)") == true, "\(log.finished)")
        #expect(!log.transcript.contains("sk-31337"))
    }

    @Test func backupAndRestoreThroughS3() async throws {
        let moto = try MotoServer()
        defer { moto.stop() }
        let work = try makeTemporaryDirectory("runner-restic-s3")
        try "payload-\(UInt32.random(in: 0...UInt32.max))\n".write(toFile: work + "/file.txt", atomically: true, encoding: .utf8)
        let repo = "s3:http://127.0.0.1:\(moto.port)/backups/hornbill"
        let credentials = "env: { AWS_ACCESS_KEY_ID: AKIATEST, AWS_SECRET_ACCESS_KEY: s3-secret-7781 }"
        var yaml = "steps:\n" + step("backup", "backup", repo: repo, password: "s3-pw-5512", "paths: [\(work)/file.txt], \(credentials)")
        yaml += step("restore", "restore", repo: repo, password: "s3-pw-5512", "target: \(work)/out, \(credentials)")
        let (outcome, log) = try await runOverSSH(yaml, inventory: "hosts: {}\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(try String(contentsOfFile: work + "/out" + work + "/file.txt", encoding: .utf8)
                == String(contentsOfFile: work + "/file.txt", encoding: .utf8))
        for secret in ["s3-secret-7781", "s3-pw-5512"] { #expect(!log.transcript.contains(secret)) }
    }

    @Test func backupOnAnSSHHost() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let work = try makeTemporaryDirectory("runner-restic-ssh")
        chmod(work, 0o1777)
        try "remote data\n".write(toFile: work + "/app.db", atomically: true, encoding: .utf8)
        chmod(work + "/app.db", 0o644)
        var yaml = "steps:\n" + step("backup", "backup", repo: work + "/repo", password: "ssh-pw-6604", "paths: [\(work)/app.db], status_file: \(work)/status.json")
            .replacingOccurrences(of: "id: backup,", with: "id: backup, on: web,")
        yaml += "  - { on: web, run: \"stat -c %U \(work)/repo/config\" }\n"
        let (outcome, log) = try await runOverSSH(yaml, inventory: "hosts:\n  web: \(try server.inventoryEntry())\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.output(on: "web").last == SSHServer.user)
        #expect(try String(contentsOfFile: work + "/status.json", encoding: .utf8).contains("\"result\":\"success\""))
        #expect(!log.transcript.contains("ssh-pw-6604"))
    }
}
