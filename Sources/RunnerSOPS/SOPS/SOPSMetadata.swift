/// The `sops` section of a file: how the data key is wrapped, the MAC, and the crypt rule.
public struct SOPSMetadata: Sendable, Equatable {
    /// One age entry: the recipient and the armored age file that wraps the data key for it.
    public struct AgeEntry: Sendable, Equatable {
        public var recipient: String
        public var enc: String
    }

    /// Master keys that all wrap the data key (or, with several groups, a Shamir share of it).
    public struct KeyGroup: Sendable, Equatable {
        public var age: [AgeEntry] = []
        /// PGP fingerprints (PGP is not supported here; listed for error messages).
        public var pgp: [String] = []
        /// Cloud KMS entries by type (`kms`, `gcp_kms`, `azure_kv`, `hc_vault`, `hckms`): counts only.
        public var other: [String: Int] = [:]
        /// The non-age key lists as read, written back unchanged when the file is re-encrypted.
        var preserved: [String: SOPSValue] = [:]

        public init(age: [AgeEntry] = [], pgp: [String] = [], other: [String: Int] = [:]) {
            self.age = age
            self.pgp = pgp
            self.other = other
        }

        var isEmpty: Bool { age.isEmpty && pgp.isEmpty && other.values.allSatisfy { $0 == 0 } }
    }

    public var keyGroups: [KeyGroup]
    public var shamirThreshold: Int
    /// RFC 3339, as written in the file.
    public var lastModified: String
    /// The encrypted MAC (`ENC[...]`), empty when missing.
    public var mac: String
    /// The rule named in the file; nil means sops' default (`unencrypted_suffix: _unencrypted`).
    public var rule: SOPSCryptRule?
    public var macOnlyEncrypted: Bool
    public var version: String

    /// The rule in force: the file's, or the default suffix rule.
    var effectiveRule: SOPSCryptRule { rule ?? .default }

    static let otherKeyTypes = ["kms", "gcp_kms", "azure_kv", "hc_vault", "hckms"]

    // MARK: Reading

    /// Reads metadata from the `sops` map (already unflattened for dotenv), with mapstructure's
    /// weak typing: numbers and booleans may be strings and vice versa.
    init(items: [SOPSItem]) throws(SOPSError) {
        let fields = Self.fields(items)
        func string(_ key: String) throws(SOPSError) -> String {
            guard let value = fields[key] else { return "" }
            guard let text = Self.weakString(value) else { throw SOPSError.invalidFile("sops metadata field '\(key)' is not a string") }
            return text
        }

        lastModified = try string("lastmodified")
        guard SOPSTimestamp.parse(lastModified) != nil else {
            throw SOPSError.invalidFile("sops metadata field 'lastmodified' is not an RFC 3339 time")
        }
        mac = try string("mac")
        version = try string("version")

        var rules: [SOPSCryptRule] = []
        for key in SOPSCryptRule.metadataKeys {
            let value = try string(key)
            if !value.isEmpty, let rule = SOPSCryptRule(metadataKey: key, value: value) { rules.append(rule) }
        }
        guard rules.count <= 1 else {
            throw SOPSError.invalidFile(
                "sops metadata names more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, unencrypted_comment_regex")
        }
        rule = rules.first

        switch fields["mac_only_encrypted"] {
        case nil, .null?: macOnlyEncrypted = false
        case .bool(let b)?: macOnlyEncrypted = b
        case .string(let s)? where SOPSCipher.goParseBool(s) != nil: macOnlyEncrypted = SOPSCipher.goParseBool(s) ?? false
        case .string(let s)? where s.isEmpty: macOnlyEncrypted = false
        case .int(let i)?: macOnlyEncrypted = i != 0
        default: throw SOPSError.invalidFile("sops metadata field 'mac_only_encrypted' is not a boolean")
        }

        switch fields["shamir_threshold"] {
        case nil, .null?: shamirThreshold = 0
        case .int(let i)?: shamirThreshold = i
        case .float(let d)? where d.rounded() == d && abs(d) < 1e9: shamirThreshold = Int(d)
        case .string(let s)? where s.isEmpty: shamirThreshold = 0
        case .string(let s)?:
            guard let i = Int(s) else { throw SOPSError.invalidFile("sops metadata field 'shamir_threshold' is not a number") }
            shamirThreshold = i
        default: throw SOPSError.invalidFile("sops metadata field 'shamir_threshold' is not a number")
        }

        let topGroup = try Self.keyGroup(fields)
        if !topGroup.isEmpty {
            keyGroups = [topGroup]
        } else if case .list(let groups)? = fields["key_groups"], !groups.isEmpty {
            var parsed: [KeyGroup] = []
            for group in groups {
                guard case .map(let groupItems) = group else {
                    if case .comment = group { continue }
                    throw SOPSError.invalidFile("sops metadata 'key_groups' entry is not a map")
                }
                parsed.append(try Self.keyGroup(Self.fields(groupItems)))
            }
            keyGroups = parsed
        } else {
            throw SOPSError.invalidFile("sops metadata lists no keys (no age, pgp, kms or key_groups entries)")
        }
    }

    init(
        keyGroups: [KeyGroup], lastModified: String, mac: String, rule: SOPSCryptRule?, macOnlyEncrypted: Bool,
        version: String, shamirThreshold: Int = 0
    ) {
        self.keyGroups = keyGroups
        self.lastModified = lastModified
        self.mac = mac
        self.rule = rule
        self.macOnlyEncrypted = macOnlyEncrypted
        self.version = version
        self.shamirThreshold = shamirThreshold
    }

    private static func fields(_ items: [SOPSItem]) -> [String: SOPSValue] {
        var fields: [String: SOPSValue] = [:]
        for case .pair(let key, let value) in items { fields[key] = value }
        return fields
    }

    private static func weakString(_ value: SOPSValue) -> String? {
        switch value {
        case .string(let s): s
        case .int(let i): String(i)
        case .float(let d): GoFloat.format(d, "f")
        case .bool(let b): b ? "1" : "0"
        case .time(let t): t
        case .null: ""
        default: nil
        }
    }

    private static func keyGroup(_ fields: [String: SOPSValue]) throws(SOPSError) -> KeyGroup {
        var group = KeyGroup()
        for entry in try entries(fields["age"], name: "age") {
            group.age.append(
                AgeEntry(recipient: weakString(entry["recipient"] ?? .null) ?? "", enc: weakString(entry["enc"] ?? .null) ?? ""))
        }
        for entry in try entries(fields["pgp"], name: "pgp") { group.pgp.append(weakString(entry["fp"] ?? .null) ?? "") }
        for type in otherKeyTypes {
            let count = try entries(fields[type], name: type).count
            if count > 0 { group.other[type] = count }
        }
        for type in ["pgp"] + otherKeyTypes {
            if let value = fields[type], case .list(let items) = value, !items.isEmpty { group.preserved[type] = value }
        }
        return group
    }

    /// The maps of a key list such as `age: [{recipient, enc}]`; an absent or null list is empty.
    private static func entries(_ value: SOPSValue?, name: String) throws(SOPSError) -> [[String: SOPSValue]] {
        switch value {
        case nil, .null?: return []
        case .string(let s)? where s.isEmpty: return []
        case .list(let items)?:
            var result: [[String: SOPSValue]] = []
            for item in items {
                switch item {
                case .map(let entryItems): result.append(fields(entryItems))
                case .comment: continue
                default: throw SOPSError.invalidFile("sops metadata '\(name)' entry is not a map")
                }
            }
            return result
        default:
            throw SOPSError.invalidFile("sops metadata '\(name)' is not a list")
        }
    }

    // MARK: Writing

    /// The metadata as sops 3.13 writes it: every map sorted by key, empty lists omitted.
    var tree: [SOPSItem] {
        func ageList(_ entries: [AgeEntry]) -> SOPSValue {
            .list(entries.map { .map([.pair("enc", .string($0.enc)), .pair("recipient", .string($0.recipient))]) })
        }
        func groupItems(_ group: KeyGroup) -> [(String, SOPSValue)] {
            var items: [(String, SOPSValue)] = group.preserved.map { ($0.key, Self.sorted($0.value)) }
            if !group.age.isEmpty { items.append(("age", ageList(group.age))) }
            return items
        }
        var items: [(String, SOPSValue)] = []
        if keyGroups.count == 1, let group = keyGroups.first {
            items += groupItems(group)
        } else {
            items.append((
                "key_groups",
                .list(keyGroups.map { group in .map(groupItems(group).sorted { $0.0 < $1.0 }.map { SOPSItem.pair($0.0, $0.1) }) })
            ))
        }
        items.append(("lastmodified", .string(lastModified)))
        items.append(("mac", .string(mac)))
        if macOnlyEncrypted { items.append(("mac_only_encrypted", .bool(true))) }
        if shamirThreshold != 0 { items.append(("shamir_threshold", .int(shamirThreshold))) }
        if let rule { items.append((rule.metadataField.key, .string(rule.metadataField.value))) }
        items.append(("version", .string(version)))
        return items.sorted { $0.0 < $1.0 }.map { SOPSItem.pair($0.0, $0.1) }
    }

    /// Maps sorted by key, recursively (sops 3.13's `goToSops`), comments dropped.
    private static func sorted(_ value: SOPSValue) -> SOPSValue {
        switch value {
        case .map(let items):
            var pairs: [(String, SOPSValue)] = []
            for case .pair(let key, let child) in items { pairs.append((key, sorted(child))) }
            return .map(pairs.sorted { $0.0 < $1.0 }.map { SOPSItem.pair($0.0, $0.1) })
        case .list(let items):
            return .list(items.filter { if case .comment = $0 { false } else { true } }.map(sorted))
        default:
            return value
        }
    }
}
