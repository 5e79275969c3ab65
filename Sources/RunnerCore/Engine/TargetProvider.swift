/// Gives the target for a host named in `on:`.
public protocol TargetProvider: Sendable {
    /// The target for `host`; `credentials` holds the secrets its inventory entry names.
    func target(for host: Inventory.Host, credentials: HostCredentials) async throws -> any Target
    /// Called once when a run ends: close connections.
    func shutdown() async
}

extension TargetProvider {
    public func shutdown() async {}
}

/// Runs everything on this machine; hosts with `connection: local` are this machine too.
public struct LocalTargets: TargetProvider {
    public init() {}

    public func target(for host: Inventory.Host, credentials: HostCredentials) async throws -> any Target {
        guard host.isLocal else {
            throw TargetError(target: host.name, "remote hosts need the SSH target, which this build does not include; use 'connection: local' to run this host's steps here")
        }
        return LocalTarget(name: host.name)
    }
}

/// Secret values for connecting to a host, looked up from the run's secrets by the names in
/// the inventory (`identity_passphrase`, `sudo_password`).
public struct HostCredentials: Sendable {
    public var identityPassphrase: String?
    public var sudoPassword: String?

    public init(identityPassphrase: String? = nil, sudoPassword: String? = nil) {
        self.identityPassphrase = identityPassphrase
        self.sudoPassword = sudoPassword
    }
}
