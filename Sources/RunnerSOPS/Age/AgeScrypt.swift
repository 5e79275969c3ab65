import Crypto
import _CryptoExtras

/// The passphrase recipient type (stanza `-> scrypt <salt> <logN>`), which must be alone in a header.
enum AgeScrypt {
    static let label = "age-encryption.org/v1/scrypt"
    /// age's default ceiling: 2^22 × 1 KiB = 4 GiB of memory. Higher is a header failure.
    static let maxWorkFactor = 22

    static func key(passphrase: [UInt8], salt: [UInt8], logN: Int) throws(SOPSError) -> [UInt8] {
        do {
            return try KDF.Scrypt.deriveKey(
                from: passphrase, salt: Array(label.utf8) + salt, outputByteCount: 32,
                rounds: 1 << logN, blockSize: 8, parallelism: 1
            ).bytes
        } catch {
            throw SOPSError.header("scrypt failed for work factor \(logN)")
        }
    }

    static func wrap(fileKey: [UInt8], passphrase: [UInt8], logN: Int) throws(SOPSError) -> AgeStanza {
        let salt = Bytes.random(16)
        let wrapKey = try key(passphrase: passphrase, salt: salt, logN: logN)
        return AgeStanza(
            type: "scrypt", args: [Base64.encode(salt, padded: false), String(logN)],
            body: AgePrimitives.seal(key: wrapKey, fileKey))
    }

    static func unwrap(_ stanza: AgeStanza, passphrase: [UInt8], maxWorkFactor: Int) throws(SOPSError) -> [UInt8]? {
        guard stanza.type == "scrypt" else { return nil }
        guard stanza.args.count == 2 else { throw SOPSError.header("scrypt stanza with \(stanza.args.count) arguments") }
        guard let salt = Base64.decodeStrictUnpadded(Array(stanza.args[0].utf8)), salt.count == 16 else {
            throw SOPSError.header("scrypt stanza salt is not 16 bytes of canonical base64")
        }
        // ^[1-9][0-9]*$, then a bound (which also rules out overflow).
        let factor = Array(stanza.args[1].utf8)
        guard let first = factor.first, first >= UInt8(ascii: "1"), first <= UInt8(ascii: "9"),
            factor.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw SOPSError.header("scrypt work factor is not a decimal number") }
        guard factor.count <= 2, let logN = Int(stanza.args[1]), logN <= maxWorkFactor else {
            throw SOPSError.header("scrypt work factor \(stanza.args[1]) is above the limit of \(maxWorkFactor)")
        }
        let wrapKey = try key(passphrase: passphrase, salt: salt, logN: logN)
        return try AgePrimitives.unwrapFileKey(key: wrapKey, body: stanza.body, stanza: "scrypt")
    }
}
