import Foundation

/// Something that can unwrap an age file key: an X25519 secret key (`AGE-SECRET-KEY-1…`), an
/// unencrypted OpenSSH Ed25519 private key, or a passphrase.
///
/// Printing an identity shows its public side only; the secret never appears in `description`,
/// `debugDescription`, mirrors or error messages.
///
/// ```swift
/// let identity = try AgeIdentity("AGE-SECRET-KEY-1…")
/// print(identity.recipient)  // age1…
/// ```
public struct AgeIdentity: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    enum Kind: Sendable {
        case x25519(secret: [UInt8], publicKey: [UInt8])
        case sshEd25519(seed: [UInt8], publicKey: [UInt8])
        case passphrase([UInt8], maxWorkFactor: Int)
    }

    let kind: Kind

    /// Parses an `AGE-SECRET-KEY-1…` identity (Bech32, all uppercase or all lowercase).
    public init(_ string: String) throws(SOPSError) {
        if string.hasPrefix("AGE-SECRET-KEY-PQ-1") || string.hasPrefix("age-secret-key-pq-1") {
            throw SOPSError.invalidKey("post-quantum (AGE-SECRET-KEY-PQ-1…) identities are not supported")
        }
        if string.uppercased().hasPrefix("AGE-PLUGIN-") {
            throw SOPSError.invalidKey("age plugin identities (AGE-PLUGIN-…) are not supported")
        }
        guard let (hrp, data) = Bech32.decode(string), hrp == AgeX25519.identityHRP.lowercased() else {
            throw SOPSError.invalidKey("not an age identity: expected AGE-SECRET-KEY-1… (Bech32)")
        }
        guard data.count == 32, let publicKey = AgePrimitives.x25519Base(scalar: data) else {
            throw SOPSError.invalidKey("malformed age identity: the key is \(data.count) bytes, expected 32")
        }
        kind = .x25519(secret: data, publicKey: publicKey)
    }

    /// An identity from an unencrypted OpenSSH Ed25519 private key file's text, for files
    /// encrypted to `ssh-ed25519` recipients. Passphrase-protected keys are rejected.
    public init(sshPrivateKey text: String) throws(SOPSError) {
        let key = try AgeSSH.parsePrivateKey(text)
        kind = .sshEd25519(seed: key.seed, publicKey: key.publicKey)
    }

    /// A passphrase for scrypt stanzas; work factors above `maxWorkFactor` (log2 N) are refused.
    public init(passphrase: String, maxWorkFactor: Int = 22) {
        kind = .passphrase(Array(passphrase.utf8), maxWorkFactor: maxWorkFactor)
    }

    /// A new random X25519 identity.
    public static func generate() -> AgeIdentity {
        while true {
            // x25519Base only fails for a wrong size, so this loop runs once.
            if let identity = try? AgeIdentity(Bech32.encode(hrp: AgeX25519.identityHRP, data: Bytes.random(32), uppercase: true)) {
                return identity
            }
        }
    }

    /// The recipient that files for this identity are encrypted to (nil for a passphrase).
    public var recipient: AgeRecipient? {
        switch kind {
        case .x25519(_, let publicKey): AgeRecipient(kind: .x25519(publicKey))
        case .sshEd25519(_, let publicKey): AgeRecipient(kind: .sshEd25519(publicKey))
        case .passphrase: nil
        }
    }

    /// The `AGE-SECRET-KEY-1…` string of an X25519 identity, for writing a key file. Handle with care.
    public func secretKeyString() -> String? {
        guard case .x25519(let secret, _) = kind else { return nil }
        return Bech32.encode(hrp: AgeX25519.identityHRP, data: secret, uppercase: true)
    }

    public var description: String {
        switch kind {
        case .x25519, .sshEd25519: "age identity for \(recipient?.description ?? "?")"
        case .passphrase: "age passphrase identity"
        }
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror { Mirror(self, children: ["identity": description]) }

    /// The file key from the first stanza this identity opens; nil when none is for it; a
    /// header failure when a stanza of this identity's type is malformed.
    func unwrap(_ stanzas: [AgeStanza]) throws(SOPSError) -> [UInt8]? {
        for stanza in stanzas {
            let fileKey: [UInt8]? =
                switch kind {
                case .x25519(let secret, let publicKey):
                    try AgeX25519.unwrap(stanza, secret: secret, publicKey: publicKey)
                case .sshEd25519(let seed, let publicKey):
                    try AgeSSH.unwrap(stanza, seed: seed, publicKey: publicKey)
                case .passphrase(let passphrase, let maxWorkFactor):
                    try AgeScrypt.unwrap(stanza, passphrase: passphrase, maxWorkFactor: maxWorkFactor)
                }
            if let fileKey { return fileKey }
        }
        return nil
    }
}

/// Someone a file can be encrypted to: an X25519 public key (`age1…`) or an SSH Ed25519 public
/// key (`ssh-ed25519 AAAA…`). `description` is the canonical string sops stores as `recipient`.
public struct AgeRecipient: Sendable, Hashable, CustomStringConvertible {
    enum Kind: Sendable, Hashable {
        case x25519([UInt8])
        case sshEd25519([UInt8])
    }

    let kind: Kind

    init(kind: Kind) { self.kind = kind }

    /// Parses `age1…` or `ssh-ed25519 AAAA… [comment]` (surrounding whitespace is ignored).
    public init(_ string: String) throws(SOPSError) {
        let text = string.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("ssh-ed25519 ") {
            kind = .sshEd25519(try AgeSSH.parsePublicKey(text))
            return
        }
        if text.hasPrefix("ssh-") {
            throw SOPSError.invalidKey("only ssh-ed25519 SSH recipients are supported")
        }
        if text.hasPrefix("age1pq1") {
            throw SOPSError.invalidKey("post-quantum (age1pq1…) recipients are not supported")
        }
        guard let (hrp, data) = Bech32.decode(text) else {
            throw SOPSError.invalidKey("not an age recipient: '\(text)'")
        }
        guard hrp == AgeX25519.recipientHRP else {
            throw SOPSError.invalidKey("age plugin recipients are not supported: '\(text)'")
        }
        guard text == text.lowercased(), data.count == 32 else {
            throw SOPSError.invalidKey("malformed age recipient: '\(text)'")
        }
        kind = .x25519(data)
    }

    public var description: String {
        switch kind {
        case .x25519(let key): Bech32.encode(hrp: AgeX25519.recipientHRP, data: key)
        case .sshEd25519(let key): "ssh-ed25519 " + Base64.encode(AgeSSH.wireKey(key))
        }
    }

    func wrap(fileKey: [UInt8]) throws(SOPSError) -> AgeStanza {
        switch kind {
        case .x25519(let point): try AgeX25519.wrap(fileKey: fileKey, recipient: point)
        case .sshEd25519(let key): try AgeSSH.wrap(fileKey: fileKey, publicKey: key)
        }
    }
}
