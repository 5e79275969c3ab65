/// A decrypted value, for loading into masked pipeline secrets.
///
/// `description` shows the name only, never the value.
public struct SOPSEntry: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The keys leading to the value; list elements appear as their index ("0", "1", …).
    public let path: [String]
    /// The value as text, spelled the way the output format writes it.
    public let value: String

    public init(path: [String], value: String) {
        self.path = path
        self.value = value
    }

    /// `path` joined with dots: `DATABASE_URL`, `app2.db.password`, `an_array.0`.
    public var name: String { path.joined(separator: ".") }

    public var description: String { "\(name)=<redacted>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["name": name]) }
}

/// The result of decrypting a sops file. Printing it shows sizes and names, never values.
public struct SOPSDecryptedFile: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The format `plaintext` is written in.
    public let format: SOPSFormat
    /// Exactly what `sops -d` prints (for YAML: what yaml.v3 prints, see `YAMLStore`).
    public let plaintext: [UInt8]
    /// Every value (comments excluded) in file order.
    public let entries: [SOPSEntry]
    public let metadata: SOPSMetadata

    public var description: String {
        "decrypted \(format.rawValue) file (\(plaintext.count) bytes, \(entries.count) values: \(entries.map(\.name).joined(separator: ", ")))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["summary": description]) }
}

/// Reading sops files.
///
/// ```swift
/// let identities = try AgeKeySources().loadIdentities()
/// let file = try SOPSFile.decrypt(data: bytes, format: .dotenv, identities: identities)
/// try file.plaintext.write(to: ".env")
/// for entry in file.entries { masker.add(entry.value) }
/// ```
public enum SOPSFile {
    /// Decrypts a sops file and verifies its MAC.
    ///
    /// - Parameters:
    ///   - format: the input format (`SOPSFormat(fileName:)` picks it as sops does).
    ///   - outputFormat: how to write `plaintext`; the input format when nil.
    ///   - style: YAML/JSON indentation of `plaintext`.
    ///   - verifyMAC: `false` is `sops --ignore-mac`; leave it on.
    /// - Throws: `SOPSError` — `.metadataNotFound`, `.invalidFile`, `.noMatchingIdentity`,
    ///   `.decryptionFailed` (a value does not decrypt), `.macMismatch` (tampered, reordered,
    ///   truncated). Messages never contain values or keys.
    public static func decrypt(
        data: [UInt8], format: SOPSFormat, identities: [AgeIdentity], outputFormat: SOPSFormat? = nil,
        style: SOPSOutputStyle = .default, verifyMAC: Bool = true
    ) throws(SOPSError) -> SOPSDecryptedFile {
        var (branches, metadata) = try format.loadEncrypted(data)
        guard let aad = SOPSTimestamp.parse(metadata.lastModified) else {
            throw SOPSError.invalidFile("sops metadata field 'lastmodified' is not an RFC 3339 time")
        }
        let key = try SOPSDataKey.recover(metadata, identities: identities)
        let crypto = SOPSTreeCrypto(
            matcher: try SOPSCryptMatcher(metadata.effectiveRule), macOnlyEncrypted: metadata.macOnlyEncrypted, key: key)
        let computed = try crypto.decrypt(&branches)
        if verifyMAC { try checkMAC(metadata.mac, computed: computed, key: key, aad: aad) }
        let output = outputFormat ?? format
        return SOPSDecryptedFile(
            format: output, plaintext: try output.emit(branches, style: style), entries: entries(branches, format: output), metadata: metadata)
    }

    /// The metadata of an encrypted file (recipients, rule, times), without decrypting anything.
    public static func metadata(data: [UInt8], format: SOPSFormat) throws(SOPSError) -> SOPSMetadata {
        try format.loadEncrypted(data).1
    }

    private static func checkMAC(_ stored: String, computed: String, key: [UInt8], aad: String) throws(SOPSError) {
        guard !stored.isEmpty else {
            throw SOPSError(.macMismatch, "MAC mismatch: the file has no MAC (sops_mac / sops.mac is missing)")
        }
        guard case .string(let mac)? = SOPSCipher.decrypt(stored, key: key, aad: aad) else {
            throw SOPSError(
                .macMismatch,
                "cannot decrypt the MAC: the file's metadata was modified (lastmodified changed?) or the MAC is damaged")
        }
        guard Bytes.constantTimeEqual(Array(mac.utf8), Array(computed.utf8)) else {
            throw SOPSError(
                .macMismatch,
                "MAC mismatch: the file was modified after it was encrypted (values changed, reordered, added or removed)")
        }
    }

    /// The leaves of the tree as entries, spelled as `format` writes them.
    static func entries(_ branches: SOPSBranches, format: SOPSFormat) -> [SOPSEntry] {
        var out: [SOPSEntry] = []
        func visit(_ value: SOPSValue, _ path: [String]) {
            switch value {
            case .map(let items):
                for case .pair(let key, let child) in items { visit(child, path + [key]) }
            case .list(let items):
                var index = 0
                for child in items {
                    if case .comment = child { continue }
                    visit(child, path + [String(index)])
                    index += 1
                }
            case .comment:
                return
            default:
                out.append(SOPSEntry(path: path, value: text(value, format: format)))
            }
        }
        for branch in branches { visit(.map(branch), []) }
        return out
    }

    private static func text(_ value: SOPSValue, format: SOPSFormat) -> String {
        switch (value, format) {
        case (.float(let d), .json): GoFloat.json(d) ?? GoFloat.format(d, "g")
        case (.float(let d), .yaml): GoFloat.yaml(d)
        case (.null, .json), (.null, .yaml): "null"
        default: value.flatString ?? ""
        }
    }
}
