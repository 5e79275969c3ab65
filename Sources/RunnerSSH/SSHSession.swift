import CLibSSH
import Dispatch
import RunnerCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What to do with a host whose key is not in the known_hosts file yet.
public enum HostKeyPolicy: Sendable, Hashable {
    /// Refuse, naming the key's SHA256 fingerprint and how to accept it (the default).
    case strict
    /// Trust the key on first use and append it to the known_hosts file. A *changed* key is
    /// refused whatever the policy.
    case acceptNew
}

/// Where and how to connect.
public struct SSHConnectOptions: Sendable, Hashable {
    public var host: String
    public var port: Int
    public var user: String
    /// Private key file (ed25519, ecdsa or rsa, without passphrase). Tried before the agent.
    public var identityFile: String?
    /// The known_hosts file host keys are checked against (and appended to with `.acceptNew`).
    public var knownHostsFile: String
    public var hostKeyPolicy: HostKeyPolicy
    /// Limit for the TCP connect and for every blocking libssh exchange afterwards (handshake,
    /// authentication, SFTP requests), so a dead server fails instead of hanging.
    public var timeout: Duration
    /// Also try the keys of the ssh-agent at `SSH_AUTH_SOCK`, when that variable is set.
    public var useAgent: Bool

    public init(
        host: String, port: Int = 22, user: String, identityFile: String? = nil, knownHostsFile: String,
        hostKeyPolicy: HostKeyPolicy = .strict, timeout: Duration = .seconds(10), useAgent: Bool = true
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFile = identityFile
        self.knownHostsFile = knownHostsFile
        self.hostKeyPolicy = hostKeyPolicy
        self.timeout = timeout
        self.useAgent = useAgent
    }

    /// Options for an inventory host: its address, port (22), user (`$USER`), identity and
    /// known_hosts file (`~/.ssh/known_hosts`).
    public init(_ host: Inventory.Host, hostKeyPolicy: HostKeyPolicy = .strict, timeout: Duration = .seconds(10)) {
        let home = getenv("HOME").map { String(cString: $0) } ?? "/"
        self.init(
            host: host.address, port: host.port ?? 22,
            user: host.user ?? getenv("USER").map { String(cString: $0) } ?? "root",
            identityFile: host.identity, knownHostsFile: host.knownHosts ?? "\(home)/.ssh/known_hosts",
            hostKeyPolicy: hostKeyPolicy, timeout: timeout)
    }
}

/// One authenticated SSH connection (one libssh `ssh_session`), shared by the commands and file
/// transfers of a target.
///
/// libssh sessions are not thread-safe, so every use of the session runs on the session's own
/// serial dispatch queue (never on Swift's cooperative pool, since libssh calls block): one
/// command or transfer at a time per session. Channels and SFTP handles hold a strong reference
/// to their `SSHSession`, so the `ssh_session` is freed (in `deinit`) only after them.
public final class SSHSession: @unchecked Sendable {
    // @unchecked Sendable is sound: `raw` is set once in init and only dereferenced by libssh
    // calls made inside `queue` jobs (see `perform`) or in deinit, when no job can be running
    // (a job holds a strong reference to self). `name` and `queue` are immutable and Sendable.

    /// The inventory name of the host, used in error messages.
    public let name: String
    let raw: ssh_session
    private let queue: DispatchQueue

    private init(name: String, raw: ssh_session) {
        self.name = name
        self.raw = raw
        self.queue = DispatchQueue(label: "runner.ssh.\(name)")
    }

    deinit {
        ssh_disconnect(raw)
        ssh_free(raw)
    }

    /// Connects, verifies the host key against `options.knownHostsFile` and authenticates.
    ///
    /// - Throws: `TargetError` naming the failing step: connection refused or timed out, an
    ///   unknown host key (with its SHA256 fingerprint), a changed host key, or no accepted key.
    public static func connect(name: String, options: SSHConnectOptions) async throws -> SSHSession {
        guard let raw = ssh_new() else { throw TargetError(target: name, "ssh_new failed") }
        let session = SSHSession(name: name, raw: raw)
        try await session.perform { try $0.open(options) }
        return session
    }

    /// Runs `body` on the session's queue, where libssh may be called.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SSHSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self) }) }
        }
    }

    /// The one return-code checker: fails when `rc` is not `SSH_OK`, naming `function` and
    /// libssh's error text.
    func check(_ rc: Int32, _ function: String) throws {
        if rc != SSH_OK { throw failure(function) }
    }

    /// A `TargetError` for a libssh call that failed, with `ssh_get_error`.
    func failure(_ function: String, _ detail: String? = nil) -> TargetError {
        let text = String(cString: ssh_get_error(UnsafeMutableRawPointer(raw)))
        let parts = [detail, text.isEmpty ? nil : text].compactMap { $0 }
        return TargetError(target: name, "\(function) failed" + (parts.isEmpty ? "" : ": " + parts.joined(separator: ": ")))
    }

    /// Whether the connection is still up (on the queue only).
    var isConnected: Bool { ssh_is_connected(raw) != 0 }

    private func open(_ options: SSHConnectOptions) throws {
        try setOption(SSH_OPTIONS_HOST, options.host)
        try setOption(SSH_OPTIONS_USER, options.user)
        try setOption(SSH_OPTIONS_KNOWNHOSTS, options.knownHostsFile)
        try setOption(SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null")
        var port = UInt32(clamping: options.port)
        try check(ssh_options_set(raw, SSH_OPTIONS_PORT, &port), "ssh_options_set(port)")
        var seconds = max(1, Int(options.timeout.components.seconds))
        try check(ssh_options_set(raw, SSH_OPTIONS_TIMEOUT, &seconds), "ssh_options_set(timeout)")
        var processConfig: UInt8 = 0  // ~/.ssh/config must not change what the inventory says
        try check(ssh_options_set(raw, SSH_OPTIONS_PROCESS_CONFIG, &processConfig), "ssh_options_set(process_config)")

        try check(ssh_connect(raw), "ssh_connect to \(options.host):\(options.port)")
        try verifyHostKey(options)
        try authenticate(options)
    }

    private func setOption(_ option: ssh_options_e, _ value: String) throws {
        try check(ssh_options_set(raw, option, value), "ssh_options_set(\(option.rawValue))")
    }
}
