import Crypto
import Foundation

/// The ssh-ed25519 recipient type (agessh; sops ≥ 3.10): stanza `-> ssh-ed25519 <tag> <share>`.
///
/// The identity's X25519 scalar is SHA-512(seed)[:32]; the recipient point is the Montgomery form
/// of the Ed25519 public key; the shared secret is tweaked by an HKDF of the SSH public key blob.
enum AgeSSH {
    static let label = "age-encryption.org/v1/ssh-ed25519"

    /// `string "ssh-ed25519" ‖ string pk`, the SSH wire form of an Ed25519 public key.
    static func wireKey(_ publicKey: [UInt8]) -> [UInt8] {
        SSHWire.string(Array("ssh-ed25519".utf8)) + SSHWire.string(publicKey)
    }

    /// The stanza tag: base64 of the first 4 bytes of SHA-256 of the wire key.
    static func tag(_ wireKey: [UInt8]) -> String {
        Base64.encode(Array(SHA256.hash(data: wireKey)).prefix(4), padded: false)
    }

    static func tweak(_ wireKey: [UInt8]) -> [UInt8] {
        AgePrimitives.hkdf(ikm: [], salt: wireKey, info: label)
    }

    static func wrap(fileKey: [UInt8], publicKey: [UInt8]) throws(SOPSError) -> AgeStanza {
        guard let point = Curve25519Field.montgomery(fromEdwards: publicKey) else {
            throw SOPSError.invalidKey("the ssh-ed25519 recipient is not a valid Ed25519 public key")
        }
        let wire = wireKey(publicKey)
        let ephemeral = Bytes.random(32)
        guard let share = AgePrimitives.x25519Base(scalar: ephemeral),
            let shared = AgePrimitives.x25519(scalar: ephemeral, point: point),
            let tweaked = AgePrimitives.x25519(scalar: tweak(wire), point: shared)
        else { throw SOPSError.invalidKey("the ssh-ed25519 recipient is a low-order point") }
        let wrapKey = AgePrimitives.hkdf(ikm: tweaked, salt: share + point, info: label)
        return AgeStanza(
            type: "ssh-ed25519", args: [tag(wire), Base64.encode(share, padded: false)],
            body: AgePrimitives.seal(key: wrapKey, fileKey))
    }

    static func unwrap(_ stanza: AgeStanza, seed: [UInt8], publicKey: [UInt8]) throws(SOPSError) -> [UInt8]? {
        guard stanza.type == "ssh-ed25519" else { return nil }
        guard stanza.args.count == 2 else { throw SOPSError.header("ssh-ed25519 stanza with \(stanza.args.count) arguments") }
        guard let share = Base64.decodeStrictUnpadded(Array(stanza.args[1].utf8)), share.count == 32 else {
            throw SOPSError.header("ssh-ed25519 stanza share is not 32 bytes of canonical base64")
        }
        let wire = wireKey(publicKey)
        guard stanza.args[0] == tag(wire) else { return nil }
        let scalar = Array(Array(SHA512.hash(data: seed)).prefix(32))
        guard let ourPoint = AgePrimitives.x25519Base(scalar: scalar),
            let shared = AgePrimitives.x25519(scalar: scalar, point: share),
            let tweaked = AgePrimitives.x25519(scalar: tweak(wire), point: shared)
        else { throw SOPSError.header("ssh-ed25519 stanza share is a low-order point") }
        let wrapKey = AgePrimitives.hkdf(ikm: tweaked, salt: share + ourPoint, info: label)
        return try AgePrimitives.unwrapFileKey(key: wrapKey, body: stanza.body, stanza: "ssh-ed25519")
    }

    /// Seed and public key of an unencrypted OpenSSH Ed25519 private key
    /// (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    static func parsePrivateKey(_ text: String) throws(SOPSError) -> (seed: [UInt8], publicKey: [UInt8]) {
        let beginLine = "-----BEGIN OPENSSH PRIVATE KEY-----"
        let endLine = "-----END OPENSSH PRIVATE KEY-----"
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: beginLine), let end = lines.firstIndex(of: endLine), begin < end else {
            throw SOPSError.invalidKey("not an OpenSSH private key (no BEGIN/END OPENSSH PRIVATE KEY lines)")
        }
        guard let blob = Base64.decodeLenientPadded(Array(lines[(begin + 1)..<end].joined().utf8)) else {
            throw SOPSError.invalidKey("the OpenSSH private key is not valid base64")
        }
        var reader = SSHWire.Reader(blob)
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard reader.take(magic.count) == magic[...] else {
            throw SOPSError.invalidKey("not an openssh-key-v1 private key")
        }
        guard let cipher = reader.string(), let _ = reader.string(), let _ = reader.string(),
            let count = reader.uint32(), let _ = reader.string(), let privateSection = reader.string()
        else { throw SOPSError.invalidKey("the OpenSSH private key is truncated") }
        guard cipher.elementsEqual("none".utf8) else {
            throw SOPSError.invalidKey("the OpenSSH private key is passphrase-protected, which is not supported")
        }
        guard count == 1 else { throw SOPSError.invalidKey("the OpenSSH key file holds \(count) keys, expected 1") }
        var inner = SSHWire.Reader(Array(privateSection))
        guard let check1 = inner.uint32(), let check2 = inner.uint32(), check1 == check2 else {
            throw SOPSError.invalidKey("the OpenSSH private key is corrupt (check bytes differ)")
        }
        guard let type = inner.string(), type.elementsEqual("ssh-ed25519".utf8) else {
            throw SOPSError.invalidKey("the SSH key is not an ssh-ed25519 key")
        }
        guard let publicKey = inner.string(), publicKey.count == 32, let secret = inner.string(), secret.count == 64,
            secret.suffix(32).elementsEqual(publicKey)
        else { throw SOPSError.invalidKey("the ssh-ed25519 private key is malformed") }
        return (Array(secret.prefix(32)), Array(publicKey))
    }

    /// The 32-byte key of an `ssh-ed25519 AAAA… [comment]` public key line.
    static func parsePublicKey(_ line: String) throws(SOPSError) -> [UInt8] {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2, parts[0] == "ssh-ed25519", let blob = Base64.decodeLenientPadded(Array(parts[1].utf8)) else {
            throw SOPSError.invalidKey("not an ssh-ed25519 public key")
        }
        var reader = SSHWire.Reader(blob)
        guard let type = reader.string(), type.elementsEqual("ssh-ed25519".utf8), let key = reader.string(),
            key.count == 32, reader.isAtEnd
        else { throw SOPSError.invalidKey("malformed ssh-ed25519 public key") }
        return Array(key)
    }
}

/// SSH wire encoding: big-endian u32 lengths before byte strings.
enum SSHWire {
    static func string(_ bytes: [UInt8]) -> [UInt8] {
        let n = UInt32(bytes.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + bytes
    }

    struct Reader {
        private let bytes: [UInt8]
        private var offset = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { offset == bytes.count }

        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, count <= bytes.count - offset else { return nil }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func uint32() -> UInt32? {
            guard let four = take(4) else { return nil }
            return four.reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func string() -> ArraySlice<UInt8>? {
            guard let length = uint32() else { return nil }
            return take(Int(length))
        }
    }
}
