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

/// Where and how to connect. Unset fields come from the OpenSSH client configuration
/// (`~/.ssh/config`: Host aliases, HostName, Port, User, IdentityFile, ProxyJump,
/// ProxyCommand, UserKnownHostsFile), then from libssh's defaults (port 22, the current user,
/// `~/.ssh/known_hosts`, the default identity files).
public struct SSHConnectOptions: Sendable, Hashable {
    /// An address or a Host alias of the client configuration.
    public var host: String
    public var port: Int?
    public var user: String?
    /// Private key file (ed25519, ecdsa or rsa). When set, only this key and the agent are
    /// offered; when nil, the agent and every identity of the configuration and defaults.
    public var identityFile: String?
    /// Passphrase of an encrypted identity file (from a pipeline secret).
    public var identityPassphrase: String?
    /// The known_hosts file host keys are checked against (and appended to with `.acceptNew`).
    public var knownHostsFile: String?
    public var hostKeyPolicy: HostKeyPolicy
    /// Limit for the TCP connect and for every blocking exchange afterwards (handshake,
    /// authentication, channel opening, each SFTP request), so a dead server fails instead of
    /// hanging (see `StallWatchdog`).
    public var timeout: Duration
    /// Silence after which the server is probed: SSH keepalive requests while a command runs
    /// (three unanswered ones and a fourth interval fail the command, see `KeepaliveProbe`),
    /// and TCP keepalive on the socket. Probes also keep NAT and firewall state alive.
    public var keepalive: Duration
    /// Also try the keys of the ssh-agent at `SSH_AUTH_SOCK`, when that variable is set.
    public var useAgent: Bool
    /// The OpenSSH client configuration to read; nil reads `~/.ssh/config` when it exists.
    /// `RUNNER_SSH_CONFIG` overrides it (a path, or `none`).
    public var configFile: String?

    public init(
        host: String, port: Int? = nil, user: String? = nil, identityFile: String? = nil, identityPassphrase: String? = nil,
        knownHostsFile: String? = nil, hostKeyPolicy: HostKeyPolicy = .strict, timeout: Duration = .seconds(10),
        keepalive: Duration = .seconds(15), useAgent: Bool = true, configFile: String? = nil
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.identityFile = identityFile
        self.identityPassphrase = identityPassphrase
        self.knownHostsFile = knownHostsFile
        self.hostKeyPolicy = hostKeyPolicy
        self.timeout = timeout
        self.keepalive = keepalive
        self.useAgent = useAgent
        self.configFile = configFile
    }

    /// Options for an inventory host; `~` in paths is the user's home.
    public init(_ host: Inventory.Host, credentials: HostCredentials = HostCredentials()) {
        self.init(
            host: host.address, port: host.port, user: host.user, identityFile: host.identity.map(expandTilde),
            identityPassphrase: credentials.identityPassphrase, knownHostsFile: host.knownHosts.map(expandTilde),
            hostKeyPolicy: host.acceptNewHostKey ? .acceptNew : .strict, timeout: host.connectTimeout ?? .seconds(10),
            keepalive: host.keepalive ?? .seconds(15), configFile: host.sshConfig)
    }
}

func expandTilde(_ path: String) -> String {
    guard path == "~" || path.hasPrefix("~/") else { return path }
    let home = getenv("HOME").map { String(cString: $0) } ?? "/"
    return home + path.dropFirst()
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

    // `counters` is written by libssh and read, like `raw`, on the queue only. `watchdog` is
    // Sendable (a Mutex inside) and only ever touches its own duplicate of the socket.

    /// The inventory name of the host, used in error messages.
    public let name: String
    let raw: ssh_session
    /// How long a command may run silently before an SSH keepalive request goes out.
    let keepalive: Duration
    /// Breaks blocking exchanges (SFTP requests) that get no answer within the connect timeout.
    let watchdog: StallWatchdog
    /// libssh's byte counters of the socket ([0]) and of the decrypted stream ([1]).
    private let counters: UnsafeMutablePointer<ssh_counter_struct>
    private let queue: DispatchQueue

    private init(name: String, raw: ssh_session, keepalive: Duration, timeout: Duration) {
        self.name = name
        self.raw = raw
        self.keepalive = keepalive
        self.watchdog = StallWatchdog(limit: timeout)
        self.counters = .allocate(capacity: 2)
        counters.initialize(repeating: ssh_counter_struct(), count: 2)
        ssh_set_counters(raw, counters, counters + 1)
        self.queue = DispatchQueue(label: "runner.ssh.\(name)")
    }

    deinit {
        // First the watchdog's copy of the socket: with a ProxyCommand, ssh_disconnect waits
        // for the proxy to exit, which it does only once every copy of its socket is closed.
        watchdog.detach()
        ssh_disconnect(raw)
        ssh_free(raw)
        counters.deallocate()
    }

    /// Connects, verifies the host key against `options.knownHostsFile` and authenticates.
    ///
    /// - Throws: `TargetError` naming the failing step: connection refused or timed out, an
    ///   unknown host key (with its SHA256 fingerprint), a changed host key, or no accepted key.
    public static func connect(name: String, options: SSHConnectOptions) async throws -> SSHSession {
        guard let raw = ssh_new() else { throw TargetError(target: name, "ssh_new failed") }
        let session = SSHSession(name: name, raw: raw, keepalive: options.keepalive, timeout: max(options.timeout, .seconds(1)))
        try await session.perform { session in try session.guarded { try session.open(options) } }
        return session
    }

    /// Runs `body` on the session's queue, where libssh may be called.
    func perform<T: Sendable>(_ body: @escaping @Sendable (SSHSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self) }) }
        }
    }

    /// Runs `body`, a series of blocking libssh exchanges, under `watchdog` (on the queue
    /// only): when the server leaves one unanswered for the connect timeout (long transfers
    /// re-arm the watchdog after every chunk), the connection is shut down and dropped, and the
    /// error says so instead of hanging.
    func guarded<T>(_ body: () throws -> T) throws -> T {
        watchdog.arm()
        defer { watchdog.disarm() }
        let value: T
        do {
            value = try body()
        } catch {
            if watchdog.fired { throw stalled((error as? TargetError)?.message ?? "\(error)") }
            throw error
        }
        if watchdog.fired { throw stalled(nil) }
        return value
    }

    /// The error for a server that stopped answering a blocking exchange; the connection is
    /// dropped, so it is never handed out again (on the queue only).
    func stalled(_ detail: String?) -> TargetError {
        abandon()
        return TargetError(target: name, """
            connection lost: \(name) did not answer within \(DurationParser.format(watchdog.limit)) (connect_timeout)\
            \(detail.map { " (\($0))" } ?? "")
            """)
    }

    /// Bytes that arrived from the server so far (on the queue only): anything at all, so a
    /// change proves the server is alive.
    var bytesReceived: UInt64 { counters.pointee.in_bytes }

    /// Sends a keepalive request that wants a reply, without waiting for the reply (on the
    /// queue only). libssh's `ssh_send_keepalive` blocks until the answer comes unless the
    /// session is non-blocking; it also keeps one request outstanding at a time, and a call
    /// that finds the previous answer only collects it, hence the second call.
    func sendKeepalive() {
        ssh_set_blocking(raw, 0)
        defer { ssh_set_blocking(raw, 1) }
        _ = ssh_send_keepalive(raw)
        _ = ssh_send_keepalive(raw)
    }

    /// Drops a connection that stopped answering, without a goodbye: later checks see it
    /// disconnected, so the pool replaces it instead of handing it out again.
    func abandon() {
        watchdog.cut()
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

    /// Whether the connection is still up, after processing whatever the idle socket holds:
    /// libssh notices a closed connection only when it reads, so a server that went away
    /// between two commands would otherwise still look connected (on the queue only).
    func checkConnection() -> Bool {
        let fd = ssh_get_fd(raw)
        guard isConnected, fd >= 0, !watchdog.fired else { return false }
        var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pending, 1, 0) > 0 else { return true }
        guard let event = ssh_event_new() else { return isConnected }
        defer { ssh_event_free(event) }
        guard ssh_event_add_session(event, raw) == SSH_OK else { return isConnected }
        _ = ssh_event_dopoll(event, 0)
        _ = ssh_event_remove_session(event, raw)
        return isConnected
    }

    private func open(_ options: SSHConnectOptions) throws {
        var processConfig: UInt8 = 0  // read below, explicitly, so inventory values win
        try check(ssh_options_set(raw, SSH_OPTIONS_PROCESS_CONFIG, &processConfig), "ssh_options_set(process_config)")
        try setOption(SSH_OPTIONS_HOST, options.host)
        if let config = Self.configFile(options) {
            try check(ssh_options_parse_config(raw, config), "reading the SSH client configuration \(config)")
        }
        if let user = options.user { try setOption(SSH_OPTIONS_USER, user) }
        if let knownHosts = options.knownHostsFile { try setOption(SSH_OPTIONS_KNOWNHOSTS, knownHosts) }
        if var port = options.port.map({ UInt32(clamping: $0) }) {
            try check(ssh_options_set(raw, SSH_OPTIONS_PORT, &port), "ssh_options_set(port)")
        }
        // Every command is a few small packets (channel open, exec, window adjust): without
        // TCP_NODELAY, Nagle holds each one back for the peer's delayed ACK, ~40 ms a command.
        var noDelay: Int32 = 1
        try check(ssh_options_set(raw, SSH_OPTIONS_NODELAY, &noDelay), "ssh_options_set(nodelay)")
        var seconds = max(1, Int(options.timeout.components.seconds))
        try check(ssh_options_set(raw, SSH_OPTIONS_TIMEOUT, &seconds), "ssh_options_set(timeout)")

        try check(ssh_connect(raw), "ssh_connect to \(endpoint)")
        // From here on the watchdog bounds every blocking exchange and names the stall; some
        // libssh calls report their own timeout as an ordinary failure (or, in SFTP, not at
        // all), so libssh's timeout stays only as a backstop, a little later.
        watchdog.attach(ssh_get_fd(raw))
        watchdog.arm()
        var backstop = seconds + 2
        try check(ssh_options_set(raw, SSH_OPTIONS_TIMEOUT, &backstop), "ssh_options_set(timeout)")
        setTCPKeepalive(options.keepalive)
        try verifyHostKey(options)
        watchdog.arm()
        try authenticate(options)
    }

    /// The configuration file to read: `RUNNER_SSH_CONFIG`, the option, or `~/.ssh/config`.
    static func configFile(_ options: SSHConnectOptions) -> String? {
        if let variable = getenv("RUNNER_SSH_CONFIG").map({ String(cString: $0) }), !variable.isEmpty {
            return variable == "none" ? nil : expandTilde(variable)
        }
        if let file = options.configFile { return expandTilde(file) }
        let user = expandTilde("~/.ssh/config")
        return access(user, R_OK) == 0 ? user : nil
    }

    /// `host:port` as libssh resolved them (after the configuration), for messages.
    var endpoint: String {
        var port: UInt32 = 22
        _ = ssh_options_get_port(raw, &port)
        return "\(option(SSH_OPTIONS_HOST) ?? "?"):\(port)"
    }

    /// A string option's current value.
    func option(_ type: ssh_options_e) -> String? {
        var value: UnsafeMutablePointer<CChar>? = nil
        guard ssh_options_get(raw, type, &value) == SSH_OK, let value else { return nil }
        defer { ssh_string_free_char(value) }
        return String(cString: value)
    }

    /// Kernel keepalive probes after `interval` of silence, every `interval / 3`, three of them.
    private func setTCPKeepalive(_ interval: Duration) {
        let fd = ssh_get_fd(raw)
        guard fd >= 0 else { return }
        let idle = Int32(clamping: max(1, interval.components.seconds))
        var on: Int32 = 1, count: Int32 = 3, every = max(1, idle / 3), idleSeconds = idle
        let size = socklen_t(MemoryLayout<Int32>.size)
        _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, size)
        #if canImport(Glibc)
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, &idleSeconds, size)
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, &every, size)
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, &count, size)
        #endif
    }

    private func setOption(_ option: ssh_options_e, _ value: String) throws {
        try check(ssh_options_set(raw, option, value), "ssh_options_set(\(option.rawValue))")
    }
}
