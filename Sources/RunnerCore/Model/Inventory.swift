/// Hosts and groups that `on:` can name.
public struct Inventory: Sendable {
    public struct Host: Sendable, Hashable {
        public var name: String
        public var address: String
        public var port: Int?
        public var user: String?
        public var identity: String?
        public var knownHosts: String?
        public var labels: [String: String]
        /// `host_key_policy: accept-new` trusts an unknown host key on first use (and records
        /// it); the default refuses unknown keys. A changed key is refused either way.
        public var acceptNewHostKey: Bool = false
        /// `connect_timeout`: limit for connecting and every blocking SSH exchange (default 10s).
        public var connectTimeout: Duration?
        /// `keepalive`: interval of SSH keepalive probes on an idle connection (default 15s).
        public var keepalive: Duration?
        /// `ssh_config`: the OpenSSH client configuration read for this host (default `~/.ssh/config`).
        public var sshConfig: String?
        /// `identity_passphrase`: the name of the pipeline secret holding the identity's passphrase.
        public var identityPassphraseSecret: String?
        /// `sudo_password`: the name of the pipeline secret holding the password `sudo:` steps use.
        public var sudoPasswordSecret: String?
        /// `connection: local`: steps "on" this host run on this machine (tests, the control host itself).
        public var isLocal: Bool
        /// Where the host's name is written.
        public var location: SourceLocation?
        /// Where each field's value is written (`address`, `sudo_password`, …), for diagnostics.
        public var fieldLocations: [String: SourceLocation] = [:]
        /// The name was refused (so its address, the name by default, is not checked again).
        var nameIsInvalid = false

        public init(name: String, address: String, port: Int? = nil, user: String? = nil, identity: String? = nil,
                    knownHosts: String? = nil, labels: [String: String] = [:], isLocal: Bool = false, location: SourceLocation? = nil) {
            self.name = name
            self.address = address
            self.port = port
            self.user = user
            self.identity = identity
            self.knownHosts = knownHosts
            self.labels = labels
            self.isLocal = isLocal
            self.location = location
        }
    }

    public var hosts: [String: Host] = [:]
    public var groups: [String: [String]] = [:]
    /// `secrets: { sops: FILE }` at the inventory's top: a SOPS file whose values the hosts'
    /// `sudo_password` and `identity_passphrase` may name, decrypted only when one is needed.
    public var secrets: SecretsFile?
    /// Where each group's name and each of its members are written, for diagnostics.
    public var groupLocations: [String: GroupLocations] = [:]
    /// The file the inventory came from, if any.
    public var file: String?

    /// Where a group and its members are written.
    public struct GroupLocations: Sendable, Hashable {
        public var name: SourceLocation
        /// One per member, in the order of `groups[name]`.
        public var members: [SourceLocation]
    }

    public init(hosts: [String: Host] = [:], groups: [String: [String]] = [:], file: String? = nil) {
        self.hosts = hosts
        self.groups = groups
        self.file = file
    }

    public var isEmpty: Bool { hosts.isEmpty && groups.isEmpty }

    /// Host names for a host or group name; nil when neither exists.
    public func resolve(_ name: String) -> [String]? {
        if hosts[name] != nil { return [name] }
        if let members = groups[name] { return members }
        return nil
    }

    /// Every name `on:` may use.
    public var names: [String] { Array(hosts.keys) + Array(groups.keys) }

    /// Adds `other`'s entries (the inventory file's) under these (the pipeline's own). A host
    /// defined in both is merged field by field: each field written here wins, the others come
    /// from `other`, and `labels` merge key by key. A group defined in both is this one.
    public mutating func merge(_ other: Inventory) {
        hosts.merge(other.hosts) { mine, theirs in mine.overriding(theirs) }
        groups.merge(other.groups) { mine, _ in mine }
        groupLocations.merge(other.groupLocations) { mine, _ in mine }
        if file == nil { file = other.file }
        if secrets == nil { secrets = other.secrets }
    }

    /// What expressions see as `host` in a step on `name`: its name, address and labels.
    public func expressionValue(ofHost name: String) -> Value {
        let info = hosts[name]
        return .map(["name": .string(name), "address": .string(info?.address ?? name),
                     "labels": .map((info?.labels ?? [:]).mapValues(Value.string))])
    }
}

extension Inventory.Host {
    /// This host (written in a pipeline) over `base` (the inventory file's host of the same
    /// name): the fields written here, `base`'s for the rest; labels key by key.
    func overriding(_ base: Inventory.Host) -> Inventory.Host {
        var merged = base
        let written = Set(fieldLocations.keys)
        if written.contains("address") { merged.address = address }
        if written.contains("port") { merged.port = port }
        if written.contains("user") { merged.user = user }
        if written.contains("identity") { merged.identity = identity }
        if written.contains("known_hosts") { merged.knownHosts = knownHosts }
        if written.contains("host_key_policy") { merged.acceptNewHostKey = acceptNewHostKey }
        if written.contains("connect_timeout") { merged.connectTimeout = connectTimeout }
        if written.contains("keepalive") { merged.keepalive = keepalive }
        if written.contains("ssh_config") { merged.sshConfig = sshConfig }
        if written.contains("identity_passphrase") { merged.identityPassphraseSecret = identityPassphraseSecret }
        if written.contains("sudo_password") { merged.sudoPasswordSecret = sudoPasswordSecret }
        if written.contains("connection") { merged.isLocal = isLocal }
        merged.labels.merge(labels) { _, mine in mine }
        merged.fieldLocations.merge(fieldLocations) { _, mine in mine }
        merged.location = location ?? base.location
        return merged
    }
}
