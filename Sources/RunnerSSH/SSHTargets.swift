import RunnerCore

/// The `TargetProvider` for inventory hosts: one authenticated session per host, created on
/// first use and shared by every step (parallel ones included) of the run; a session found
/// disconnected is replaced before the next step starts, never in the middle of a command.
public actor SSHTargets: TargetProvider {
    private var sessions: [String: Task<SSHTarget, any Error>] = [:]
    private let hostKeyPolicy: HostKeyPolicy
    private let timeout: Duration

    public init(hostKeyPolicy: HostKeyPolicy = .strict, timeout: Duration = .seconds(10)) {
        self.hostKeyPolicy = hostKeyPolicy
        self.timeout = timeout
    }

    public func target(for host: Inventory.Host) async throws -> any Target {
        if host.isLocal { return LocalTarget(name: host.name) }
        if let pending = sessions[host.name] {
            if let target = try? await pending.value, await target.session.stillConnected() { return target }
        }
        let options = SSHConnectOptions(host, hostKeyPolicy: hostKeyPolicy, timeout: timeout)
        let connecting = Task { try await SSHTarget.connect(name: host.name, options: options) }
        sessions[host.name] = connecting
        do {
            return try await connecting.value
        } catch {
            sessions[host.name] = nil
            throw error
        }
    }

    public func shutdown() async {
        sessions.removeAll()
    }
}

extension SSHSession {
    /// Whether the connection is still up.
    func stillConnected() async -> Bool {
        (try? await perform { $0.isConnected }) ?? false
    }
}
