import Foundation

/// Parses age key files (`age-keygen` output): one identity per line, `#` comments and empty
/// lines skipped, a trailing `\r` removed, nothing else trimmed (like sops).
public enum AgeKeyFile {
    /// The identities in `text`; `source` names the file in error messages.
    public static func parse(_ text: String, source: String = "key file") throws(SOPSError) -> [AgeIdentity] {
        if text.hasPrefix("age-encryption.org/") || text.hasPrefix(AgeArmor.begin) {
            throw SOPSError.invalidKey("\(source) is a passphrase-encrypted age key file, which is not supported")
        }
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
            return [try AgeIdentity(sshPrivateKey: text)]
        }
        var identities: [AgeIdentity] = []
        // Split on scalars: "\r\n" is a single Character and would not split as one.
        for (index, scalars) in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let rawLine = String(String.UnicodeScalarView(scalars))
            let line = rawLine.unicodeScalars.last == "\r" ? String(String.UnicodeScalarView(scalars.dropLast())) : rawLine
            if line.isEmpty || line.hasPrefix("#") { continue }
            do {
                identities.append(try AgeIdentity(String(line)))
            } catch {
                throw SOPSError.invalidKey("\(source), line \(index + 1): \(error.message)")
            }
        }
        return identities
    }
}

/// Where sops looks for age identities, as one value that can be built from a process
/// environment: `SOPS_AGE_KEY` (identities, whitespace-separated), `SOPS_AGE_KEY_FILE`,
/// `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, an explicit key file, and the default
/// `$XDG_CONFIG_HOME/sops/age/keys.txt` (else `~/.config/sops/age/keys.txt`; on macOS
/// `~/Library/Application Support/sops/age/keys.txt` when `XDG_CONFIG_HOME` is unset).
///
/// Every source that exists contributes; identities are tried in that order.
///
/// ```swift
/// let identities = try AgeKeySources(keyFile: "/etc/runner/age.txt").loadIdentities()
/// ```
public struct AgeKeySources: Sendable {
    public var environment: [String: String]
    /// An explicit key file (a runner setting); it must exist and parse.
    public var keyFile: String?
    /// Also read `~/.ssh/id_ed25519` when it exists and is an unencrypted key (as sops ≥ 3.10 does).
    public var includeDefaultSSHKey: Bool

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, keyFile: String? = nil,
        includeDefaultSSHKey: Bool = false
    ) {
        self.environment = environment
        self.keyFile = keyFile
        self.includeDefaultSSHKey = includeDefaultSSHKey
    }

    private var home: String? { environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } }

    /// `<UserConfigDir>/sops/age/keys.txt`, or nil when neither XDG_CONFIG_HOME nor HOME is set.
    public var defaultKeyFile: String? {
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/sops/age/keys.txt" }
        guard let home else { return nil }
        #if os(macOS)
        return home + "/Library/Application Support/sops/age/keys.txt"
        #else
        return home + "/.config/sops/age/keys.txt"
        #endif
    }

    /// Every identity from every configured source. Throws when a source is malformed, when an
    /// explicitly named file cannot be read, or when no identity was found anywhere.
    public func loadIdentities() throws(SOPSError) -> [AgeIdentity] {
        var identities: [AgeIdentity] = []
        var looked: [String] = []

        if let file = environment["SOPS_AGE_SSH_PRIVATE_KEY_FILE"], !file.isEmpty {
            looked.append("SOPS_AGE_SSH_PRIVATE_KEY_FILE (\(file))")
            identities.append(try AgeIdentity(sshPrivateKey: try read(file, required: true) ?? ""))
        } else if includeDefaultSSHKey, let home {
            let file = home + "/.ssh/id_ed25519"
            looked.append(file)
            if let text = try? read(file, required: false), let identity = try? AgeIdentity(sshPrivateKey: text) {
                identities.append(identity)
            }
        }
        if let keys = environment["SOPS_AGE_KEY"], !keys.isEmpty {
            looked.append("SOPS_AGE_KEY")
            // Key-file lines; a line may also hold several identities separated by whitespace.
            let tokens = keys.unicodeScalars.split(separator: "\n").flatMap { scalars -> [String] in
                let line = String(String.UnicodeScalarView(scalars)).trimmingCharacters(in: .whitespacesAndNewlines)
                if line.isEmpty || line.hasPrefix("#") { return [] }
                return line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            }
            identities += try AgeKeyFile.parse(tokens.joined(separator: "\n"), source: "SOPS_AGE_KEY")
        }
        if let file = environment["SOPS_AGE_KEY_FILE"], !file.isEmpty {
            looked.append("SOPS_AGE_KEY_FILE (\(file))")
            if let text = try read(file, required: false) { identities += try AgeKeyFile.parse(text, source: file) }
        }
        if let keyFile {
            looked.append(keyFile)
            if let text = try read(keyFile, required: true) { identities += try AgeKeyFile.parse(text, source: keyFile) }
        }
        if let file = defaultKeyFile {
            looked.append(file)
            if let text = try read(file, required: false) { identities += try AgeKeyFile.parse(text, source: file) }
        }
        guard !identities.isEmpty else {
            let create = defaultKeyFile.map { "age-keygen -o \($0)" } ?? "age-keygen -o keys.txt"
            throw SOPSError(
                .noMatchingIdentity,
                "no age identities found; looked in: \(looked.isEmpty ? "nothing (HOME is not set)" : looked.joined(separator: ", ")). "
                    + "Point SOPS_AGE_KEY_FILE (or the step's key_file) at the age key file that can decrypt this file, "
                    + "or create a key with `\(create)` and add its public key (age1…) to the file's recipients "
                    + "(.sops.yaml, then `sops updatekeys`)")
        }
        return identities
    }

    /// The file's text; nil when it does not exist and is not required.
    private func read(_ path: String, required: Bool) throws(SOPSError) -> String? {
        guard let data = FileManager.default.contents(atPath: path) else {
            if !required && !FileManager.default.fileExists(atPath: path) { return nil }
            throw SOPSError(.unreadableKeyFile, "cannot read age key file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SOPSError.invalidKey("age key file \(path) is not UTF-8 text")
        }
        return text
    }
}
