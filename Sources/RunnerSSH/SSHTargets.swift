import RunnerCore

/// The `TargetProvider` for inventory hosts: one `SSHSessionPool` per host for the whole run,
/// shared by every step (parallel ones take extra sessions of the same pool). A host whose
/// first connection failed is tried again by the next step that needs it.
public actor SSHTargets: TargetProvider {
    private var pools: [String: Task<SSHTarget, any Error>] = [:]
    private let maxSessionsPerHost: Int

    public init(maxSessionsPerHost: Int = 4) {
        self.maxSessionsPerHost = maxSessionsPerHost
    }

    public func target(for host: Inventory.Host, credentials: HostCredentials) async throws -> any Target {
        if host.isLocal { return LocalTarget(name: host.name) }
        if let pending = pools[host.name], let target = try? await pending.value { return target }
        let options = SSHConnectOptions(host, credentials: credentials)
        let limit = maxSessionsPerHost
        let connecting = Task { try await SSHTarget.connect(name: host.name, options: options, maxSessions: limit) }
        pools[host.name] = connecting
        do {
            return try await connecting.value
        } catch {
            pools[host.name] = nil
            throw error
        }
    }

    public func shutdown() async {
        pools.removeAll()
    }
}

extension SSHSession {
    /// Whether the connection is still up.
    func stillConnected() async -> Bool {
        (try? await perform { $0.checkConnection() }) ?? false
    }
}
