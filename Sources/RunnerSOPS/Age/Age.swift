/// The age v1 file format (C2SP age.md): encrypt to recipients, decrypt with identities, binary
/// or ASCII-armored. Post-quantum (ML-KEM) and plugin recipients are not supported.
///
/// ```swift
/// let identity = AgeIdentity.generate()
/// let file = try Age.encrypt(Array("hello".utf8), to: [identity.recipient!], armored: true)
/// let plaintext = try Age.decrypt(file, identities: [identity])
/// ```
public enum Age {
    /// Encrypts `plaintext` to every recipient (each gets its own stanza wrapping one file key).
    public static func encrypt(_ plaintext: [UInt8], to recipients: [AgeRecipient], armored: Bool = false) throws(SOPSError) -> [UInt8] {
        guard !recipients.isEmpty else { throw SOPSError.invalidRequest("age: no recipients to encrypt to") }
        let fileKey = Bytes.random(AgePrimitives.fileKeySize)
        var stanzas: [AgeStanza] = []
        for recipient in recipients { stanzas.append(try recipient.wrap(fileKey: fileKey)) }
        return seal(plaintext, fileKey: fileKey, stanzas: stanzas, armored: armored)
    }

    /// Encrypts `plaintext` with a passphrase (scrypt with work factor 2^`workFactor`).
    public static func encrypt(_ plaintext: [UInt8], passphrase: String, workFactor: Int = 18, armored: Bool = false) throws(SOPSError) -> [UInt8] {
        guard (1...AgeScrypt.maxWorkFactor).contains(workFactor) else {
            throw SOPSError.invalidRequest("age: scrypt work factor must be between 1 and \(AgeScrypt.maxWorkFactor)")
        }
        let fileKey = Bytes.random(AgePrimitives.fileKeySize)
        let stanza = try AgeScrypt.wrap(fileKey: fileKey, passphrase: Array(passphrase.utf8), logN: workFactor)
        return seal(plaintext, fileKey: fileKey, stanzas: [stanza], armored: armored)
    }

    private static func seal(_ plaintext: [UInt8], fileKey: [UInt8], stanzas: [AgeStanza], armored: Bool) -> [UInt8] {
        let nonce = Bytes.random(AgeStream.nonceSize)
        let file = AgeHeader.encode(stanzas: stanzas, fileKey: fileKey) + nonce
            + AgeStream.seal(plaintext, key: AgeStream.payloadKey(fileKey: fileKey, nonce: nonce))
        return armored ? Array(AgeArmor.encode(file).utf8) : file
    }

    /// Decrypts a whole file. `armored` nil means: armored if it starts with the BEGIN line
    /// (after optional whitespace).
    public static func decrypt(_ file: [UInt8], identities: [AgeIdentity], armored: Bool? = nil) throws(SOPSError) -> [UInt8] {
        var plaintext: [UInt8] = []
        do {
            try decrypt(file, identities: identities, armored: armored) { plaintext += $0 }
        } catch let error as SOPSError {
            throw error
        } catch {
            throw SOPSError.payload("\(error)")  // unreachable: the closure above does not throw
        }
        return plaintext
    }

    /// Decrypts chunk by chunk: `output` receives each authenticated 64 KiB chunk in order, so
    /// when the payload turns out to be truncated or tampered later on, only authenticated
    /// plaintext has been released. Throws `SOPSError` (or what `output` throws).
    public static func decrypt(
        _ file: [UInt8], identities: [AgeIdentity], armored: Bool? = nil,
        output: (ArraySlice<UInt8>) throws -> Void
    ) throws {
        let binary = (armored ?? AgeArmor.isArmored(file)) ? try AgeArmor.decode(file) : file
        let (header, payloadOffset) = try AgeHeader.parse(binary)
        let fileKey = try unwrap(header, identities: identities)
        guard binary.count - payloadOffset >= AgeStream.nonceSize else {
            throw SOPSError.header("the payload nonce is missing or short")
        }
        guard header.verifyMAC(fileKey: fileKey) else {
            throw SOPSError(.ageHMAC, "age: the header MAC does not verify (the header was modified)")
        }
        let nonce = binary[payloadOffset..<(payloadOffset + AgeStream.nonceSize)]
        let key = AgeStream.payloadKey(fileKey: fileKey, nonce: nonce)
        try AgeStream.open(binary[(payloadOffset + AgeStream.nonceSize)...], key: key, output: output)
    }

    /// The file key from the first identity that opens a stanza.
    static func unwrap(_ header: AgeHeader, identities: [AgeIdentity]) throws(SOPSError) -> [UInt8] {
        if header.stanzas.contains(where: { $0.type == "scrypt" }) && header.stanzas.count != 1 {
            throw SOPSError.header("an scrypt stanza must be the only stanza")
        }
        for identity in identities {
            if let fileKey = try identity.unwrap(header.stanzas) { return fileKey }
        }
        let types = Set(header.stanzas.map(\.type)).sorted().joined(separator: ", ")
        throw SOPSError(
            .ageNoMatch,
            "age: no identity matched any of the file's recipients (\(header.stanzas.count) stanza(s): \(types.isEmpty ? "none" : types); \(identities.count) identit\(identities.count == 1 ? "y" : "ies") tried)"
        )
    }
}
