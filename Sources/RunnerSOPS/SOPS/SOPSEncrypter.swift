import Foundation

/// Encrypts plaintext files into sops files for age recipients, laid out the way sops 3.13
/// writes them (sorted metadata, armored `enc` per recipient, RFC 3339 `lastmodified`, MAC).
///
/// ```swift
/// let encrypter = SOPSEncrypter(recipients: [try AgeRecipient("age1…")], rule: .encryptedRegex("^(data|stringData)$"))
/// let file = try encrypter.encrypt(Array(plain.utf8), format: .yaml)
/// ```
public struct SOPSEncrypter: Sendable {
    /// The sops version whose output this mirrors; written as `version`.
    public static let sopsVersion = "3.13.2"

    public var recipients: [AgeRecipient]
    /// The crypt rule; nil means sops' default (`unencrypted_suffix: _unencrypted`), or no
    /// rule for the binary format.
    public var rule: SOPSCryptRule?
    /// Cover only encrypted values with the MAC (`mac_only_encrypted`, sops ≥ 3.9).
    public var macOnlyEncrypted: Bool
    public var version: String
    /// YAML/JSON indentation of the encrypted file.
    public var style: SOPSOutputStyle

    public init(
        recipients: [AgeRecipient], rule: SOPSCryptRule? = nil, macOnlyEncrypted: Bool = false,
        style: SOPSOutputStyle = .default, version: String = SOPSEncrypter.sopsVersion
    ) {
        self.recipients = recipients
        self.rule = rule
        self.macOnlyEncrypted = macOnlyEncrypted
        self.style = style
        self.version = version
    }

    /// An encrypter for a `.sops.yaml` creation rule.
    public init(creationRule: SOPSConfig.CreationRule, style: SOPSOutputStyle = .default) throws(SOPSError) {
        var recipients: [AgeRecipient] = []
        for text in creationRule.age { recipients.append(try AgeRecipient(text)) }
        guard !recipients.isEmpty else {
            throw SOPSError.invalidRequest("the creation rule has no age recipients (only age is supported)")
        }
        self.init(recipients: recipients, rule: creationRule.rule, macOnlyEncrypted: creationRule.macOnlyEncrypted, style: style)
    }

    /// Encrypts a plaintext file. Throws `.alreadyEncrypted` when it already has sops metadata.
    public func encrypt(_ plaintext: [UInt8], format: SOPSFormat, now: Date = Date()) throws(SOPSError) -> [UInt8] {
        guard !recipients.isEmpty else { throw SOPSError.invalidRequest("no age recipients to encrypt to") }
        var branches = try format.load(plaintext)
        guard !branches.isEmpty else {
            throw SOPSError.invalidRequest("the file cannot be completely empty, it must contain at least one document")
        }
        guard !format.hasMetadata(branches) else {
            throw SOPSError(.alreadyEncrypted, "the file already has sops metadata (it is encrypted already)")
        }
        if format == .dotenv {
            for case .pair(let key, let value) in branches.first ?? [] {
                if key.hasPrefix(DotenvStore.metadataPrefix) {
                    throw SOPSError.invalidRequest("key '\(key)' starts with the reserved prefix 'sops_'")
                }
                if case .map = value { throw SOPSError.invalidRequest("cannot use complex value in dotenv file; offending key '\(key)'") }
            }
        }
        let rule = self.rule ?? (format == .binary ? nil : .default)
        let dataKey = Bytes.random(SOPSDataKey.size)
        var entries: [SOPSMetadata.AgeEntry] = []
        for recipient in recipients {
            let enc = try Age.encrypt(dataKey, to: [recipient], armored: true)
            entries.append(SOPSMetadata.AgeEntry(recipient: recipient.description, enc: String(decoding: enc, as: UTF8.self)))
        }
        let crypto = SOPSTreeCrypto(matcher: try SOPSCryptMatcher(rule), macOnlyEncrypted: macOnlyEncrypted, key: dataKey)
        let mac = try crypto.encrypt(&branches)
        let lastModified = SOPSTimestamp.now(now)
        let encryptedMAC = try SOPSCipher.seal(Array(mac.utf8), key: dataKey, aad: lastModified, type: "str").text
        let metadata = SOPSMetadata(
            keyGroups: [SOPSMetadata.KeyGroup(age: entries)], lastModified: lastModified, mac: encryptedMAC, rule: rule,
            macOnlyEncrypted: macOnlyEncrypted, version: version)
        return try format.emitEncrypted(branches, metadata: metadata, style: style)
    }
}
