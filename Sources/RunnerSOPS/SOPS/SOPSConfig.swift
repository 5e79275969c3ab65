import Foundation
import RunnerCore

/// The parts of a `.sops.yaml` that matter for age: `creation_rules` with `path_regex`, `age`
/// (a comma-separated string or a list; or a single `key_groups` entry), one crypt rule and
/// `mac_only_encrypted`.
///
/// ```swift
/// if let (dir, config) = try SOPSConfig.find(forFile: "/srv/app/secrets/prod.env"),
///    let rule = try config.creationRule(forFile: "/srv/app/secrets/prod.env", configDirectory: dir) {
///     let file = try SOPSEncrypter(creationRule: rule).encrypt(plain, format: .dotenv)
/// }
/// ```
public struct SOPSConfig: Sendable {
    public struct CreationRule: Sendable, Equatable {
        public var pathRegex: String?
        public var age: [String]
        public var rule: SOPSCryptRule?
        public var macOnlyEncrypted: Bool
        /// Non-age key types the rule names (pgp, kms, …), which this implementation cannot use.
        public var otherKeyTypes: [String]

        public init(pathRegex: String? = nil, age: [String], rule: SOPSCryptRule? = nil, macOnlyEncrypted: Bool = false, otherKeyTypes: [String] = []) {
            self.pathRegex = pathRegex
            self.age = age
            self.rule = rule
            self.macOnlyEncrypted = macOnlyEncrypted
            self.otherKeyTypes = otherKeyTypes
        }
    }

    public var creationRules: [CreationRule]
    /// `stores: {yaml: {indent: N}, json: {indent: N}}` (JSON indent -1 means a tab).
    public var style: SOPSOutputStyle

    /// Parses the text of a `.sops.yaml`.
    public init(yaml: [UInt8]) throws(SOPSError) {
        let branches = try YAMLStore.load(yaml)
        style = .default
        guard let root = branches.first else {
            creationRules = []
            return
        }
        for case .pair("stores", .map(let stores)) in root {
            for case .pair(let store, .map(let settings)) in stores {
                for case .pair("indent", .int(let indent)) in settings {
                    if store == "yaml" { style.yamlIndent = indent }
                    if store == "json" { style.jsonIndent = indent < 0 ? nil : indent }
                }
            }
        }
        var rules: [CreationRule] = []
        for case .pair("creation_rules", let value) in root {
            guard case .list(let items) = value else { throw SOPSError.invalidFile(".sops.yaml: creation_rules is not a list") }
            for case .map(let fields) in items { rules.append(try Self.rule(fields)) }
        }
        creationRules = rules
    }

    private static func rule(_ items: [SOPSItem]) throws(SOPSError) -> CreationRule {
        var fields: [String: SOPSValue] = [:]
        for case .pair(let key, let value) in items { fields[key] = value }
        var rule = CreationRule(age: try keys(fields["age"], name: "age"))
        if case .string(let regex)? = fields["path_regex"], !regex.isEmpty { rule.pathRegex = regex }
        var crypt: [SOPSCryptRule] = []
        for key in SOPSCryptRule.metadataKeys {
            if case .string(let value)? = fields[key], !value.isEmpty, let parsed = SOPSCryptRule(metadataKey: key, value: value) {
                crypt.append(parsed)
            }
        }
        guard crypt.count <= 1 else { throw SOPSError.invalidFile(".sops.yaml: a creation rule names more than one crypt rule") }
        rule.rule = crypt.first
        if case .bool(let b)? = fields["mac_only_encrypted"] { rule.macOnlyEncrypted = b }
        if case .list(let groups)? = fields["key_groups"], !groups.isEmpty {
            guard groups.count == 1, case .map(let groupItems) = groups[0] else {
                throw SOPSError.invalidFile(".sops.yaml: several key_groups (Shamir) are not supported for encryption")
            }
            var groupFields: [String: SOPSValue] = [:]
            for case .pair(let key, let value) in groupItems { groupFields[key] = value }
            rule.age = try keys(groupFields["age"], name: "key_groups.age")
            rule.otherKeyTypes = groupFields.keys.filter { $0 != "age" && $0 != "merge" }.sorted()
        } else {
            rule.otherKeyTypes = ["pgp", "kms", "gcp_kms", "azure_keyvault", "hc_vault_transit_uri", "hckms"].filter {
                guard let value = fields[$0] else { return false }
                if case .null = value { return false }
                if case .string(let s) = value, s.isEmpty { return false }
                return true
            }
        }
        return rule
    }

    /// `age: "a, b"` or `age: [a, b]`.
    private static func keys(_ value: SOPSValue?, name: String) throws(SOPSError) -> [String] {
        switch value {
        case nil, .null?: return []
        case .string(let s)?:
            return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .list(let items)?:
            var out: [String] = []
            for item in items {
                switch item {
                case .string(let s): out.append(s)
                case .comment: continue
                default: throw SOPSError.invalidFile(".sops.yaml: \(name) entries must be strings")
                }
            }
            return out
        default:
            throw SOPSError.invalidFile(".sops.yaml: \(name) must be a string or a list")
        }
    }

    /// The first rule whose `path_regex` matches `path` relative to the config's directory (or
    /// that has no `path_regex`), as sops picks it. Nil when none matches.
    public func creationRule(forFile path: String, configDirectory: String? = nil) throws(SOPSError) -> CreationRule? {
        var relative = path
        if let directory = configDirectory {
            let prefix = directory.hasSuffix("/") ? directory : directory + "/"
            if relative.hasPrefix(prefix) { relative = String(relative.dropFirst(prefix.count)) }
        }
        for rule in creationRules {
            guard let pattern = rule.pathRegex else { return rule }
            let regex: Regex<AnyRegexOutput>
            do {
                regex = try Regex(pattern).matchingSemantics(.unicodeScalar)
            } catch {
                throw SOPSError.invalidFile(".sops.yaml: path_regex '\(pattern)' does not compile")
            }
            if (try? regex.firstMatch(in: relative)) != nil { return rule }
        }
        return nil
    }

    /// The nearest `.sops.yaml` from the file's directory upwards (at most 100 levels), with
    /// the directory it is in.
    public static func find(forFile path: String) throws(SOPSError) -> (directory: String, config: SOPSConfig)? {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var directory = Paths.directory(of: absolute)
        for _ in 0..<100 {
            let candidate = Paths.join(directory, ".sops.yaml")
            if let data = FileManager.default.contents(atPath: candidate) {
                return (directory, try SOPSConfig(yaml: [UInt8](data)))
            }
            if directory == "/" { break }
            directory = Paths.directory(of: directory)
        }
        return nil
    }
}
