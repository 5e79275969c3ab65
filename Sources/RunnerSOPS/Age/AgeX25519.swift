/// The X25519 recipient type (`age1…` / `AGE-SECRET-KEY-1…`, stanza `-> X25519 <share>`).
enum AgeX25519 {
    static let label = "age-encryption.org/v1/X25519"
    static let identityHRP = "AGE-SECRET-KEY-"
    static let recipientHRP = "age"

    /// A stanza wrapping `fileKey` for the recipient point `recipient`.
    static func wrap(fileKey: [UInt8], recipient: [UInt8]) throws(SOPSError) -> AgeStanza {
        // A fresh ephemeral scalar; retry in the (negligible) case the recipient is low-order.
        let ephemeral = Bytes.random(32)
        guard let share = AgePrimitives.x25519Base(scalar: ephemeral),
            let shared = AgePrimitives.x25519(scalar: ephemeral, point: recipient)
        else { throw SOPSError.invalidKey("the X25519 recipient is not a valid public key") }
        let wrapKey = AgePrimitives.hkdf(ikm: shared, salt: share + recipient, info: label)
        let body = AgePrimitives.seal(key: wrapKey, fileKey)
        return AgeStanza(type: "X25519", args: [Base64.encode(share, padded: false)], body: body)
    }

    /// The file key, nil when the stanza is not an X25519 stanza for this identity, or a header
    /// failure when it is an X25519 stanza that is malformed.
    static func unwrap(_ stanza: AgeStanza, secret: [UInt8], publicKey: [UInt8]) throws(SOPSError) -> [UInt8]? {
        guard stanza.type == "X25519" else { return nil }
        guard stanza.args.count == 1 else { throw SOPSError.header("X25519 stanza with \(stanza.args.count) arguments") }
        guard let share = Base64.decodeStrictUnpadded(Array(stanza.args[0].utf8)), share.count == 32 else {
            throw SOPSError.header("X25519 stanza share is not 32 bytes of canonical base64")
        }
        guard let shared = AgePrimitives.x25519(scalar: secret, point: share) else {
            throw SOPSError.header("X25519 stanza share is a low-order point")
        }
        let wrapKey = AgePrimitives.hkdf(ikm: shared, salt: share + publicKey, info: label)
        return try AgePrimitives.unwrapFileKey(key: wrapKey, body: stanza.body, stanza: "X25519")
    }
}
