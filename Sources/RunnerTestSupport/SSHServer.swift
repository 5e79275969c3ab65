import Foundation

/// A throwaway OpenSSH server on 127.0.0.1 for tests: its own host key, sshd_config,
/// authorized_keys and pid file in a temporary directory, run as `/usr/sbin/sshd -D -e -f config`
/// and stopped by `stop()`. Logins are as the unprivileged user `runner-test` (created if
/// missing) with the throwaway ed25519 key `SSHServer.clientKey`.
///
/// Needs root (sshd switches users) and Debian's `openssh-server`. Start several with
/// `SSHServer.start(count:)`; each has its own port and host key.
public final class SSHServer: @unchecked Sendable {
    // @unchecked Sendable is sound: the mutable state (`pid`, `generation`) is only touched under `lock`.
    public static let user = "runner-test"

    public let directory: String
    public let port: Int
    /// Whether sshd offers the SFTP subsystem.
    public let sftp: Bool
    private let lock = NSLock()
    private var pid: pid_t?
    private var generation = 0

    /// The path of the current host key (its public half is `hostKey + ".pub"`).
    public var hostKey: String { lock.withLock { "\(directory)/host_key_\(generation)" } }

    /// Starts one server on a random free port; `sftp: false` leaves out the SFTP subsystem (as
    /// some minimal or hardened servers do).
    public static func start(sftp: Bool = true) throws -> SSHServer {
        try ensureUserAndClientKey()
        let server = SSHServer(directory: try makeTemporaryDirectory("runner-sshd"), port: try freePort(), sftp: sftp)
        try server.launch(newHostKey: true)
        return server
    }

    /// Starts `count` independent servers.
    public static func start(count: Int) throws -> [SSHServer] {
        try (0..<count).map { _ in try start() }
    }

    private init(directory: String, port: Int, sftp: Bool = true) {
        self.directory = directory
        self.port = port
        self.sftp = sftp
    }

    deinit { stop() }

    /// Stops the server and starts it again on the same port, with a brand-new host key when
    /// `newHostKey` is true.
    public func restart(newHostKey: Bool) throws {
        stop()
        try launch(newHostKey: newHostKey)
    }

    /// Stops sshd (SIGTERM) and waits for it; connections already made are unaffected.
    public func stop() {
        guard let running = lock.withLock({ () -> pid_t? in defer { pid = nil }; return pid }) else { return }
        Glibc.kill(running, SIGTERM)
        Spawn.wait(running)
    }

    /// Kills every sshd process of this server with SIGKILL (the listener and, for every
    /// connection, its monitor and session processes): what a crashed server looks like to a
    /// client. Other servers' connections are untouched.
    public func crash() {
        guard let running = lock.withLock({ () -> pid_t? in defer { pid = nil }; return pid }) else { return }
        // Stop them all before killing any: killed one by one in no particular order, a shell
        // whose `sleep` died first could still finish its script and report success.
        let processes = [running] + Self.descendants(of: running)
        for process in processes { Glibc.kill(process, SIGSTOP) }
        for process in processes {
            Glibc.kill(process, SIGKILL)
            Glibc.kill(process, SIGCONT)
        }
        Spawn.wait(running)
    }

    /// The pid of the listening sshd, while it runs.
    var listenerPID: pid_t? { lock.withLock { pid } }

    /// A known_hosts line for the current host key.
    public func knownHostsLine() throws -> String {
        let publicKey = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8).split(separator: " ")
        return "[127.0.0.1]:\(port) \(publicKey[0]) \(publicKey[1])\n"
    }

    /// Writes a known_hosts file trusting this server and returns its path.
    public func writeKnownHosts() throws -> String {
        let path = "\(directory)/known_hosts.\(UUID().uuidString)"
        try knownHostsLine().write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// An inventory host entry (YAML flow mapping) for this server, trusting its key.
    public func inventoryEntry(_ extra: String = "") throws -> String {
        "{ address: 127.0.0.1, port: \(port), user: \(Self.user), identity: \(Self.clientKey), known_hosts: \(try writeKnownHosts()), ssh_config: /dev/null\(extra.isEmpty ? "" : ", " + extra) }"
    }

    /// The `SHA256:…` fingerprint of the current host key.
    public func fingerprint() throws -> String {
        let output = try Self.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", hostKey + ".pub"])
        return String(output.split(separator: " ")[1])
    }

    private func launch(newHostKey: Bool) throws {
        let key = lock.withLock { () -> String in
            if newHostKey { generation += 1 }
            return "\(directory)/host_key_\(generation)"
        }
        if newHostKey { try Self.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]) }
        let config = """
            ListenAddress 127.0.0.1
            Port \(port)
            HostKey \(key)
            AuthorizedKeysFile \(Self.authorizedKeys)
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            PidFile \(directory)/sshd.pid
            StrictModes no
            AllowUsers \(Self.user)
            \(sftp ? "Subsystem sftp internal-sftp" : "")
            LogLevel VERBOSE

            """
        let configPath = "\(directory)/sshd_config"
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)

        let logged = log().utf8.count
        let sshd = try Spawn.start("/usr/sbin/sshd", ["-D", "-e", "-f", configPath], logFile: "\(directory)/sshd.log")
        lock.withLock { pid = sshd }
        try waitUntilListening(sshd, after: logged)
    }

    /// Waits for this launch's "Server listening" line (the log also holds earlier launches').
    private func waitUntilListening(_ sshd: pid_t, after offset: Int) throws {
        for _ in 0..<250 {
            guard Spawn.isRunning(sshd) else { throw FixtureError("sshd exited: \(log())") }
            if String(decoding: log().utf8.dropFirst(offset), as: UTF8.self).contains("Server listening") { return }
            usleep(20_000)
        }
        throw FixtureError("sshd did not start listening: \(log())")
    }

    /// sshd's log so far (for failure messages).
    public func log() -> String { (try? String(contentsOfFile: "\(directory)/sshd.log", encoding: .utf8)) ?? "" }
}
