import Foundation
import Testing

@testable import RunnerSOPS

/// The age checks that keep a modified file from decrypting, each pinned by a file built here
/// (the C2SP vectors cover them too, but only where ../shared is present): the header MAC,
/// the STREAM payload's chunk order, final flag and end, the X25519 share and the scrypt
/// bounds. Every file is valid except for the one change under test.
@Suite("age tampering")
struct AgeTamperTests {
    let identity = AgeIdentity.generate()
    static let plaintext = Array("the header MAC covers every stanza".utf8)

    /// A binary age file for `stanzas`, its header MAC'd with `macKey` (the file key unless a
    /// test wants a wrong one).
    static func file(stanzas: [AgeStanza], fileKey: [UInt8], macKey: [UInt8]? = nil, plaintext: [UInt8] = plaintext) -> [UInt8] {
        let nonce = Bytes.random(AgeStream.nonceSize)
        return AgeHeader.encode(stanzas: stanzas, fileKey: macKey ?? fileKey) + nonce
            + AgeStream.seal(plaintext, key: AgeStream.payloadKey(fileKey: fileKey, nonce: nonce))
    }

    /// `file` with its header lines (before `---`) replaced by `transform`'s, keeping the MAC line and payload.
    static func rewritingStanzas(_ file: [UInt8], _ transform: ([UInt8]) -> [UInt8]) throws -> [UInt8] {
        let marker = Array("\n---".utf8)
        let end = try #require((0...(file.count - marker.count)).first { Array(file[$0..<($0 + marker.count)]) == marker })
        let intro = AgeHeader.intro.count
        return Array(file[..<intro]) + transform(Array(file[intro...end])) + Array(file[(end + 1)...])
    }

    func refused(_ file: [UInt8], identities: [AgeIdentity]? = nil, sourceLocation: SourceLocation = #_sourceLocation) -> SOPSError? {
        #expect(throws: SOPSError.self, sourceLocation: sourceLocation) {
            try Age.decrypt(file, identities: identities ?? [identity])
        }
    }

    // MARK: Header MAC

    /// The control for the tests below: an unknown (grease) stanza is fine when the MAC covers it.
    @Test func anExtraStanzaUnderAValidMACDecrypts() throws {
        let fileKey = Bytes.random(AgePrimitives.fileKeySize)
        let grease = AgeStanza(type: "grease-x", args: ["a"], body: Bytes.random(20))
        let file = Self.file(stanzas: [try identity.recipient!.wrap(fileKey: fileKey), grease], fileKey: fileKey)
        #expect(try Age.decrypt(file, identities: [identity]) == Self.plaintext)
    }

    @Test func anExtraStanzaUnderTheOldMACIsRefused() throws {
        let file = try Age.encrypt(Self.plaintext, to: [identity.recipient!])
        let grease = AgeStanza(type: "grease-x", args: ["a"], body: Bytes.random(20)).encoded
        let changed = try Self.rewritingStanzas(file) { $0 + grease }
        #expect(refused(changed)?.code == .ageHMAC)
    }

    /// Another recipient's stanza swapped for an attacker's: the identity still finds its own.
    @Test func aReplacedStanzaOfAnotherRecipientIsRefused() throws {
        let other = AgeIdentity.generate()
        let attacker = AgeIdentity.generate()
        let file = try Age.encrypt(Self.plaintext, to: [identity.recipient!, other.recipient!])
        let header = try AgeHeader.parse(file).header
        let forged = try attacker.recipient!.wrap(fileKey: Bytes.random(AgePrimitives.fileKeySize))
        let changed = try Self.rewritingStanzas(file) { _ in header.stanzas[0].encoded + forged.encoded }
        #expect(refused(changed)?.code == .ageHMAC)
        #expect(try Age.decrypt(file, identities: [identity]) == Self.plaintext)  // the original is fine
    }

    @Test func reorderedStanzasAreRefused() throws {
        let other = AgeIdentity.generate()
        let file = try Age.encrypt(Self.plaintext, to: [identity.recipient!, other.recipient!])
        let stanzas = try AgeHeader.parse(file).header.stanzas
        let changed = try Self.rewritingStanzas(file) { _ in stanzas[1].encoded + stanzas[0].encoded }
        #expect(refused(changed)?.code == .ageHMAC)
    }

    @Test("a changed MAC character is refused", arguments: [0, 1, 20, 41])
    func changedMACCharacter(index: Int) throws {
        var file = try Age.encrypt(Self.plaintext, to: [identity.recipient!])
        let start = try AgeHeader.parse(file).payloadOffset - 44  // 43 base64 characters and "\n"
        #expect(file[start - 1] == UInt8(ascii: " "))
        // A→B (or anything→A): still canonical base64 away from the last character.
        file[start + index] = file[start + index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(refused(file)?.code == .ageHMAC)
    }

    @Test func aMACUnderAnotherKeyIsRefused() throws {
        let fileKey = Bytes.random(AgePrimitives.fileKeySize)
        let file = Self.file(stanzas: [try identity.recipient!.wrap(fileKey: fileKey)], fileKey: fileKey,
                             macKey: Bytes.random(AgePrimitives.fileKeySize))
        #expect(refused(file)?.code == .ageHMAC)
    }

    @Test func armoredFilesCheckTheMACToo() throws {
        let binary = try Self.rewritingStanzas(try Age.encrypt(Self.plaintext, to: [identity.recipient!])) {
            $0 + AgeStanza(type: "grease-y", args: [], body: []).encoded
        }
        let armored = Array(AgeArmor.encode(binary).utf8)
        #expect(refused(armored)?.code == .ageHMAC)
    }

    // MARK: Payload (STREAM)

    /// Cutting a file at a chunk boundary leaves chunks that each authenticate; only the
    /// missing final flag tells.
    @Test("truncation at a chunk boundary", arguments: [2 * 65536 + 10, 2 * 65536])
    func truncationAtAChunkBoundary(size: Int) throws {
        let plaintext = Bytes.random(size)
        let file = try Age.encrypt(plaintext, to: [identity.recipient!])
        let payload = try AgeHeader.parse(file).payloadOffset + AgeStream.nonceSize
        let cut = Array(file.prefix(payload + AgeStream.chunkSize + AgeStream.tagSize))  // chunk 0 alone
        var released: [UInt8] = []
        let error = #expect(throws: SOPSError.self) { try Age.decrypt(cut, identities: [identity]) { released += $0 } }
        #expect(error?.code == .agePayload)
        #expect(error?.message.contains("truncated") == true)
        #expect(released == Array(plaintext.prefix(AgeStream.chunkSize)))
    }

    @Test func swappedChunksAreRefused() throws {
        let file = try Age.encrypt(Bytes.random(3 * 65536), to: [identity.recipient!])
        let payload = try AgeHeader.parse(file).payloadOffset + AgeStream.nonceSize
        let size = AgeStream.chunkSize + AgeStream.tagSize
        let first = Array(file[payload..<(payload + size)])
        let second = Array(file[(payload + size)..<(payload + 2 * size)])
        let swapped = Array(file[..<payload]) + second + first + Array(file[(payload + 2 * size)...])
        #expect(refused(swapped)?.code == .agePayload)
        let dropped = Array(file[..<payload]) + second + Array(file[(payload + 2 * size)...])
        #expect(refused(dropped)?.code == .agePayload)
    }

    /// A full-size final chunk followed by more bytes: the chunk authenticates as final, the rest
    /// must not be ignored.
    @Test("data after the final chunk", arguments: [1, 16, 17, 65536 + 16])
    func trailingDataAfterTheFinalChunk(extra: Int) throws {
        let file = try Age.encrypt(Bytes.random(65536), to: [identity.recipient!])
        let error = refused(file + Bytes.random(extra))
        #expect(error?.code == .agePayload)
    }

    @Test func aFlippedPayloadNonceIsRefused() throws {
        var file = try Age.encrypt(Self.plaintext, to: [identity.recipient!])
        file[try AgeHeader.parse(file).payloadOffset] ^= 1
        #expect(refused(file)?.code == .agePayload)
    }

    // MARK: Stanzas

    /// A share whose Diffie-Hellman result is all zeros would make the wrap key public.
    @Test("a low-order X25519 share is refused", arguments: [
        [UInt8](repeating: 0, count: 32),
        [1] + [UInt8](repeating: 0, count: 31),
    ])
    func lowOrderShare(share: [UInt8]) throws {
        let fileKey = Bytes.random(AgePrimitives.fileKeySize)
        let stanza = AgeStanza(type: "X25519", args: [Base64.encode(share, padded: false)], body: Bytes.random(32))
        let error = refused(Self.file(stanzas: [stanza], fileKey: fileKey))
        #expect(error?.code == .ageHeader)
        #expect(error?.message.contains("low-order") == true)
    }

    @Test func scryptWorkFactorAboveTheLimitIsRefusedBeforeDerivingAKey() throws {
        let fileKey = Bytes.random(AgePrimitives.fileKeySize)
        let stanza = AgeStanza(type: "scrypt", args: [Base64.encode(Bytes.random(16), padded: false), "40"], body: Bytes.random(32))
        let error = refused(Self.file(stanzas: [stanza], fileKey: fileKey), identities: [AgeIdentity(passphrase: "x")])
        #expect(error?.code == .ageHeader)
        #expect(error?.message.contains("above the limit of 22") == true)
        let lower = AgeStanza(type: "scrypt", args: [Base64.encode(Bytes.random(16), padded: false), "12"], body: Bytes.random(32))
        #expect(refused(Self.file(stanzas: [lower], fileKey: fileKey), identities: [AgeIdentity(passphrase: "x", maxWorkFactor: 11)])?.code == .ageHeader)
    }

    /// A passphrase file must not also open with a key (age's rule: scrypt stands alone).
    @Test func scryptBesideAnotherStanzaIsRefused() throws {
        let fileKey = Bytes.random(AgePrimitives.fileKeySize)
        let scrypt = try AgeScrypt.wrap(fileKey: fileKey, passphrase: Array("pw".utf8), logN: 2)
        let file = Self.file(stanzas: [try identity.recipient!.wrap(fileKey: fileKey), scrypt], fileKey: fileKey)
        let error = refused(file)
        #expect(error?.code == .ageHeader)
        #expect(error?.message.contains("scrypt stanza must be the only stanza") == true)
    }
}
