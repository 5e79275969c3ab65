import Crypto
import Foundation

/// The primitives age is built from, over swift-crypto, on byte arrays.
enum AgePrimitives {
    static let fileKeySize = 16

    /// HKDF-SHA-256 with a 32-byte output. An empty salt is RFC 5869's zero salt.
    static func hkdf(ikm: [UInt8], salt: [UInt8], info: String, count: Int = 32) -> [UInt8] {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: ikm), salt: salt, info: Array(info.utf8), outputByteCount: count
        ).bytes
    }

    static func hmacSHA256(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)).bytes
    }

    /// X25519(scalar, point); nil when the point is malformed or the result is all zeros
    /// (a low-order point, which age rejects and swift-crypto does not).
    static func x25519(scalar: [UInt8], point: [UInt8]) -> [UInt8]? {
        guard scalar.count == 32, point.count == 32,
            let privateKey = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: scalar),
            let publicKey = try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: point),
            let shared = try? privateKey.sharedSecretFromKeyAgreement(with: publicKey)
        else { return nil }
        let bytes = shared.withUnsafeBytes { Array($0) }
        return bytes.allSatisfy({ $0 == 0 }) ? nil : bytes
    }

    /// X25519(scalar, 9): the public point of a scalar.
    static func x25519Base(scalar: [UInt8]) -> [UInt8]? {
        guard scalar.count == 32, let key = try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: scalar) else {
            return nil
        }
        return Array(key.publicKey.rawRepresentation)
    }

    /// ChaCha20-Poly1305 seal; returns ciphertext ‖ tag.
    static func seal(key: [UInt8], nonce: [UInt8] = [UInt8](repeating: 0, count: 12), _ plaintext: [UInt8]) -> [UInt8] {
        // Key is always 32 bytes and the nonce 12, so these cannot fail.
        guard let nonce = try? ChaChaPoly.Nonce(data: nonce),
            let box = try? ChaChaPoly.seal(plaintext, using: SymmetricKey(data: key), nonce: nonce)
        else { preconditionFailure("ChaCha20-Poly1305 rejected a 32-byte key or 12-byte nonce") }
        return Array(box.ciphertext) + Array(box.tag)
    }

    /// ChaCha20-Poly1305 open of ciphertext ‖ tag; nil when it does not authenticate.
    static func open(key: [UInt8], nonce: [UInt8] = [UInt8](repeating: 0, count: 12), _ sealed: some Collection<UInt8>) -> [UInt8]? {
        guard sealed.count >= 16, let nonce = try? ChaChaPoly.Nonce(data: nonce) else { return nil }
        let bytes = Array(sealed)
        guard let box = try? ChaChaPoly.SealedBox(nonce: nonce, ciphertext: bytes.dropLast(16), tag: bytes.suffix(16)),
            let plaintext = try? ChaChaPoly.open(box, using: SymmetricKey(data: key))
        else { return nil }
        return Array(plaintext)
    }

    /// Unwraps a stanza body that must seal a 16-byte file key: a header failure when the
    /// body has the wrong size, nil when it does not authenticate (not our stanza).
    static func unwrapFileKey(key: [UInt8], body: [UInt8], stanza: String) throws(SOPSError) -> [UInt8]? {
        guard body.count == fileKeySize + 16 else {
            throw SOPSError.header("\(stanza) stanza body is \(body.count) bytes, expected \(fileKeySize + 16)")
        }
        return open(key: key, body)
    }
}
