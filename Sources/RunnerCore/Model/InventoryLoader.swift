import Foundation

/// Reads `inventory.yml` (and inline `hosts:`/`groups:` in a pipeline).
///
/// ```yaml
/// hosts:
///   hornbill: { address: 100.67.57.25, user: stefan, identity: ~/.ssh/deploy_hornbill, labels: { role: apps } }
///   toucan:   { address: 100.102.199.98, user: stefan }
///   here:     { connection: local }
/// groups:
///   apps: [hornbill]
/// ```
public enum InventoryLoader {
    static let hostKeys = [
        "address", "port", "user", "identity", "known_hosts", "labels", "connection", "host_key_policy",
        "connect_timeout", "keepalive", "identity_passphrase", "sudo_password", "ssh_config",
    ]

    public static func load(path: String) throws(InvalidInput) -> Inventory {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InvalidInput("\(path): no such inventory file")
        }
        guard let root = try YAMLParser.parse([UInt8](data), file: path) else { return Inventory(file: path) }
        var r = YAMLReader()
        var inventory = Inventory(file: path)
        if let entries = r.mapping(root, what: "the inventory", known: ["hosts", "groups"]) {
            for (key, node, _) in entries {
                if key == "hosts" { readHosts(node, into: &inventory, reader: &r) }
                if key == "groups" { readGroups(node, into: &inventory, reader: &r) }
            }
        }
        checkGroups(inventory, reader: &r)
        guard r.diagnostics.isEmpty else { throw InvalidInput(r.diagnostics) }
        return inventory
    }

    static func readHosts(_ node: YAMLNode, into inventory: inout Inventory, reader r: inout YAMLReader) {
        guard let entries = r.mapping(node, what: "hosts", known: []) else { return }
        for (name, spec, nameLocation) in entries {
            var host = Inventory.Host(name: name, address: name, location: nameLocation)
            if spec.scalar != nil, !spec.value.isNull {
                host.address = r.string(spec, what: "host '\(name)'") ?? name
            } else if spec.mapping != nil, let fields = r.mapping(spec, what: "host '\(name)'", known: hostKeys) {
                for (key, value, _) in fields {
                    switch key {
                    case "address": host.address = r.string(value, what: "'address'") ?? name
                    case "port": host.port = r.int(value, what: "'port'", range: 1...65535)
                    case "user": host.user = r.string(value, what: "'user'")
                    case "identity": host.identity = r.string(value, what: "'identity'")
                    case "known_hosts": host.knownHosts = r.string(value, what: "'known_hosts'")
                    case "host_key_policy":
                        switch r.string(value, what: "'host_key_policy'") {
                        case "strict": host.acceptNewHostKey = false
                        case "accept-new": host.acceptNewHostKey = true
                        case let other?: r.error("host_key_policy must be 'strict' or 'accept-new', not '\(other)'", at: value.location)
                        case nil: break
                        }
                    case "connect_timeout": host.connectTimeout = r.duration(value, what: "'connect_timeout'", positive: true)
                    case "ssh_config": host.sshConfig = r.string(value, what: "'ssh_config'")
                    case "keepalive": host.keepalive = r.duration(value, what: "'keepalive'", positive: true)
                    case "identity_passphrase": host.identityPassphraseSecret = r.string(value, what: "'identity_passphrase' (a secret name)")
                    case "sudo_password": host.sudoPasswordSecret = r.string(value, what: "'sudo_password' (a secret name)")
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
            }
            inventory.hosts[name] = host
        }
    }

    static func readGroups(_ node: YAMLNode, into inventory: inout Inventory, reader r: inout YAMLReader) {
        guard let entries = r.mapping(node, what: "groups", known: []) else { return }
        for (name, members, _) in entries {
            guard let items = members.sequence else {
                r.error("group '\(name)' must be a list of host names", at: members.location)
                continue
            }
            inventory.groups[name] = items.compactMap { r.string($0, what: "a member of group '\(name)'") }
        }
    }

    static func checkGroups(_ inventory: Inventory, reader r: inout YAMLReader) {
        for (group, members) in inventory.groups {
            for member in members where inventory.hosts[member] == nil {
                r.error("group '\(group)' names unknown host '\(member)'\(Suggestion.hint(for: member, in: inventory.hosts.keys))",
                        at: SourceLocation(file: inventory.file ?? "inventory", line: 1, column: 1))
            }
        }
    }
}
