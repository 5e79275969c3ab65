import Foundation

/// Reads `inventory.yml` (and inline `hosts:`/`groups:` in a pipeline).
///
/// ```yaml
/// secrets: { sops: inventory.secrets.sops.yaml }   # optional: what sudo_password may name
/// hosts:
///   hornbill: { address: 100.67.57.25, user: stefan, identity: ~/.ssh/deploy_hornbill, labels: { role: apps } }
///   toucan:   { address: 100.102.199.98, user: stefan }
///   here:     { connection: local }
/// groups:
///   apps: [hornbill]
/// ```
///
/// Every value is checked where it is written (names, addresses, user names, empty paths), and
/// the whole inventory once it is complete (`check`): groups that name unknown hosts or share a
/// host's name, addresses (a pipeline's host may take its address from the file's). The
/// pipeline loader runs `check` on the pipeline's inline inventory merged with its file, and
/// `checkCredentials` against the secrets the pipeline declares, for the hosts its steps use.
public enum InventoryLoader {
    static let hostKeys = [
        "address", "port", "user", "identity", "known_hosts", "labels", "connection", "host_key_policy",
        "connect_timeout", "keepalive", "identity_passphrase", "sudo_password", "ssh_config",
    ]

    /// Reads and checks an inventory file on its own.
    public static func load(path: String) throws(InvalidInput) -> Inventory {
        var r = YAMLReader()
        let inventory = try read(path: path, reader: &r)
        check(inventory, reader: &r)
        guard r.diagnostics.isEmpty else { throw InvalidInput(r.diagnostics) }
        return inventory
    }

    /// Reads an inventory file into `r`'s diagnostics without the whole-inventory checks (the
    /// pipeline loader runs them once its own hosts are merged in). Throws only when the file
    /// cannot be read or is not YAML.
    static func read(path: String, reader r: inout YAMLReader) throws(InvalidInput) -> Inventory {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InvalidInput("\(path): no such inventory file")
        }
        if isDirectory.boolValue { throw InvalidInput("\(path): is a directory, not an inventory file") }
        var inventory = Inventory(file: path)
        guard let root = try YAMLParser.parse(try YAMLParser.readFile(path), file: path) else { return inventory }
        guard root.mapping != nil else {
            r.error("the inventory must be a map with 'hosts:' and 'groups:', not \(r.kindName(root))", at: root.location)
            return inventory
        }
        if let entries = r.mapping(root, what: "the inventory", known: ["hosts", "groups", "secrets"]) {
            for (key, node, _) in entries {
                if key == "hosts" { readHosts(node, into: &inventory, reader: &r) }
                if key == "groups" { readGroups(node, into: &inventory, reader: &r) }
                if key == "secrets" { inventory.secrets = readSecrets(node, directory: Paths.directory(of: path), reader: &r) }
            }
        }
        return inventory
    }

    /// `secrets: { sops: FILE, key_file: FILE }`, paths relative to the inventory file.
    static func readSecrets(_ node: YAMLNode, directory: String, reader r: inout YAMLReader) -> Inventory.SecretsFile? {
        guard let fields = r.mapping(node, what: "the inventory's secrets (secrets: { sops: FILE })", known: ["sops", "key_file"]) else {
            return nil
        }
        func resolved(_ path: String) -> String { path.hasPrefix("/") ? path : Paths.join(directory, path) }
        var file: Inventory.SecretsFile?
        var keyFile: String?
        for (key, value, _) in fields {
            guard let text = path(value, what: "'\(key)'", reader: &r) else { continue }
            if key == "sops" { file = Inventory.SecretsFile(path: resolved(text), location: value.location) }
            if key == "key_file" { keyFile = resolved(text) }
        }
        guard var file else {
            r.error("the inventory's secrets need 'sops': the SOPS file whose values sudo_password and identity_passphrase may name",
                    at: node.location)
            return nil
        }
        if !FileManager.default.fileExists(atPath: file.path) {
            r.error("secrets: no such SOPS file \(file.path)", at: file.location)
        }
        file.keyFile = keyFile
        return file
    }

    static func readHosts(_ node: YAMLNode, into inventory: inout Inventory, reader r: inout YAMLReader) {
        guard let entries = r.mapping(node, what: "hosts", known: []) else { return }
        for (name, spec, nameLocation) in entries {
            let nameIsValid = checkName(name, what: "host", at: nameLocation, reader: &r)
            var host = Inventory.Host(name: name, address: name, location: nameLocation)
            if spec.scalar != nil, !spec.value.isNull {
                host.address = r.string(spec, what: "host '\(name)'") ?? name
                host.fieldLocations["address"] = spec.location
            } else if spec.mapping != nil, let fields = r.mapping(spec, what: "host '\(name)'", known: hostKeys) {
                for (key, value, _) in fields {
                    host.fieldLocations[key] = value.location
                    switch key {
                    case "address": host.address = r.string(value, what: "'address'") ?? name
                    case "port": host.port = r.int(value, what: "'port'", range: 1...65535)
                    case "user": host.user = r.string(value, what: "'user'")
                    case "identity": host.identity = path(value, what: "'identity'", reader: &r)
                    case "known_hosts": host.knownHosts = path(value, what: "'known_hosts'", reader: &r)
                    case "host_key_policy":
                        switch r.string(value, what: "'host_key_policy'") {
                        case "strict": host.acceptNewHostKey = false
                        case "accept-new": host.acceptNewHostKey = true
                        case let other?: r.error("host_key_policy must be 'strict' or 'accept-new', not '\(other)'", at: value.location)
                        case nil: break
                        }
                    case "connect_timeout": host.connectTimeout = r.duration(value, what: "'connect_timeout'", positive: true)
                    case "ssh_config": host.sshConfig = path(value, what: "'ssh_config'", reader: &r)
                    case "keepalive": host.keepalive = r.duration(value, what: "'keepalive'", positive: true)
                    case "identity_passphrase": host.identityPassphraseSecret = secretName(value, what: "identity_passphrase", reader: &r)
                    case "sudo_password": host.sudoPasswordSecret = secretName(value, what: "sudo_password", reader: &r)
                    case "connection":
                        switch r.string(value, what: "'connection'") {
                        case "local": host.isLocal = true
                        case "ssh", nil: break
                        case let other?: r.error("connection must be 'ssh' or 'local', not '\(other)'", at: value.location)
                        }
                    case "labels":
                        if let labels = r.mapping(value, what: "'labels'", known: []) {
                            for (k, v, _) in labels { host.labels[k] = r.string(v, what: "label '\(k)'") }
                        }
                    default: break
                    }
                }
            } else if spec.mapping == nil, spec.sequence != nil {
                r.error("host '\(name)' must be an address or a map of settings, not a list", at: spec.location)
            }
            if !nameIsValid { host.nameIsInvalid = true }
            inventory.hosts[name] = host
        }
    }

    static func readGroups(_ node: YAMLNode, into inventory: inout Inventory, reader r: inout YAMLReader) {
        guard let entries = r.mapping(node, what: "groups", known: []) else { return }
        for (name, members, nameLocation) in entries {
            _ = checkName(name, what: "group", at: nameLocation, reader: &r)
            guard let items = members.sequence else {
                r.error("group '\(name)' must be a list of host names", at: members.location)
                continue
            }
            var names: [String] = []
            var locations: [SourceLocation] = []
            for item in items {
                guard let member = r.string(item, what: "a member of group '\(name)'") else { continue }
                names.append(member)
                locations.append(item.location)
            }
            inventory.groups[name] = names
            inventory.groupLocations[name] = Inventory.GroupLocations(name: nameLocation, members: locations)
        }
    }

    // MARK: - Values

    /// Host and group names are what `on:` and `--limit` take: not empty, no spaces or control
    /// characters, no `,` (`--limit a,b` splits on it). Returns whether the name is valid.
    static func checkName(_ name: String, what: String, at location: SourceLocation, reader r: inout YAMLReader) -> Bool {
        let bad = name.unicodeScalars.first { $0.properties.isWhitespace || $0.properties.generalCategory == .control || $0 == "," }
        if name.isEmpty {
            r.error("a \(what) name must not be empty", at: location)
        } else if let bad {
            r.error("\(what) name '\(name)' must not contain \(describe(bad))", at: location)
        }
        return !name.isEmpty && bad == nil
    }

    /// The address libssh connects to: a host name, an IPv4 address or an IPv6 address (without
    /// brackets; `%zone` allowed). Checked after defaulting to the host's name.
    static func checkAddressAndUser(_ host: Inventory.Host, reader r: inout YAMLReader) {
        guard !host.isLocal else { return }
        let at = host.fieldLocations["address"] ?? host.location ?? SourceLocation(file: "inventory", line: 1, column: 1)
        if !isAddress(host.address) {
            let reason = host.address.isEmpty ? "must not be empty" : "'\(host.address)' is not a host name or IP address (letters, digits, '.', '-', '_', ':' and '%')"
            let origin = host.fieldLocations["address"] == nil ? " (no 'address', so the host's name is used)" : ""
            r.error("host '\(host.name)': address \(reason)\(origin)", at: at)
        }
        if let user = host.user, !isUserName(user), let at = host.fieldLocations["user"] {
            r.error("host '\(host.name)': user '\(user)' is not a user name (\(userNameRule))", at: at)
        }
    }

    static func isAddress(_ address: String) -> Bool {
        !address.isEmpty && address.utf8.count <= 253 && address.first != "-"
            && address.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_:%".unicodeScalars.contains($0)) }
    }

    static let userNameRule = "1 to 32 ASCII letters, digits, '_', '.' or '-', not starting with '-'"

    /// A Unix user name as `useradd` accepts it (and as is safe on any command line):
    /// see `userNameRule`. Used for the inventory's `user` and a step's `sudo: <user>`.
    static func isUserName(_ user: String) -> Bool {
        !user.isEmpty && user.utf8.count <= 32 && user.first != "-"
            && user.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    /// A file path (`identity`, `known_hosts`, `ssh_config`): a string that is not empty.
    private static func path(_ node: YAMLNode, what: String, reader r: inout YAMLReader) -> String? {
        guard let path = r.string(node, what: what) else { return nil }
        guard !path.isEmpty else {
            r.error("\(what) must be a file path, not empty", at: node.location)
            return nil
        }
        return path
    }

    /// The name of a pipeline secret (`identity_passphrase`, `sudo_password`); whether the
    /// pipeline has it is checked by `checkCredentials`.
    private static func secretName(_ node: YAMLNode, what: String, reader r: inout YAMLReader) -> String? {
        guard let name = r.string(node, what: "'\(what)' (a secret name)") else { return nil }
        guard !name.isEmpty else {
            r.error("\(what) must name a secret of the pipeline, not be empty", at: node.location)
            return nil
        }
        return name
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case " ": "spaces"
        case ",": "','"
        default: "U+\(String(scalar.value, radix: 16, uppercase: true))"
        }
    }

    // MARK: - Whole inventory

    /// Checks that need the complete inventory: every group member is a host, no group has a
    /// host's name (`on:` would silently mean the host), and a host named `local` is the
    /// local machine (`on: local` always is).
    static func check(_ inventory: Inventory, reader r: inout YAMLReader) {
        let fallback = SourceLocation(file: inventory.file ?? "inventory", line: 1, column: 1)
        // After merging: a pipeline's host may take its address from the inventory file's.
        for host in inventory.hosts.values.sorted(by: { $0.name < $1.name })
        where !host.nameIsInvalid || host.fieldLocations["address"] != nil {
            checkAddressAndUser(host, reader: &r)
        }
        for name in inventory.groups.keys.sorted() {
            let locations = inventory.groupLocations[name]
            if let host = inventory.hosts[name] {
                let other = host.location.map { " (the host is defined at \($0))" } ?? ""
                r.error("group '\(name)' has the name of a host\(other): 'on: \(name)' would mean the host alone; rename one of them",
                        at: locations?.name ?? fallback)
            }
            for (index, member) in (inventory.groups[name] ?? []).enumerated() where inventory.hosts[member] == nil {
                let at = locations.flatMap { index < $0.members.count ? $0.members[index] : nil } ?? locations?.name ?? fallback
                r.error("group '\(name)' names unknown host '\(member)'\(Suggestion.hint(for: member, in: inventory.hosts.keys))", at: at)
            }
        }
        if let local = inventory.hosts["local"], !local.isLocal {
            r.error("host 'local' is never reached over SSH: 'on: local' always means this machine; give the host another name",
                    at: local.location ?? fallback)
        }
        if let group = inventory.groupLocations["local"] {
            r.error("a group cannot be named 'local': 'on: local' always means this machine", at: group.name)
        }
    }

    /// Every `identity_passphrase` and `sudo_password` that a step needs (`uses`) names a secret
    /// the pipeline declares: an entry of its `secrets:` (`names`) or a param with
    /// `secret: true`. Names from a SOPS file (the pipeline's or the inventory's) are known only
    /// once it is decrypted, so with `sopsSources` the check is left to the run, which makes it
    /// before the first step. One problem per host and field, at the field, naming a step that
    /// needs it.
    static func checkCredentials(_ inventory: Inventory, uses: [CredentialUse], names: Set<String>, sopsSources: Bool,
                                 reader r: inout YAMLReader) {
        guard !sopsSources, inventory.secrets == nil else { return }
        var reported: Set<String> = []
        for use in uses where !names.contains(use.secret) && reported.insert(use.host + " " + use.field).inserted {
            let host = inventory.hosts[use.host]
            let at = host?.fieldLocations[use.field] ?? host?.location ?? SourceLocation(file: inventory.file ?? "inventory", line: 1, column: 1)
            r.error("host '\(use.host)': \(use.field) names the secret '\(use.secret)', which the pipeline does not declare "
                    + "(\(use.why)): add it to secrets: (- env: VARIABLE, as: \(use.secret)), declare a param '\(use.secret)' "
                    + "with secret: true, or name it in the inventory's secrets: { sops: FILE }"
                    + Suggestion.hint(for: use.secret, in: names), at: at)
        }
    }
}
