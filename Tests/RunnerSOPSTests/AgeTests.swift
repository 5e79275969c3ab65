import Foundation
import Testing

@testable import RunnerSOPS

@Suite("age")
struct AgeTests {
    // A throwaway key made with age-keygen for these tests, and its public key.
    static let secret = "AGE-SECRET-KEY-1E6GWQFKR7JZ8WWFYYTHHD7SU2U9V8VUY4ZHDJ2MAPGXQJ8DLDHPQ4GT6XC"
    static let recipient = "age1q0fg99ta7lqlke9pderwtpsv0ukpxa5mrm4u4f7uj0udh5hqz9msmhqr2t"

    @Test func identityAndRecipientRoundTrip() throws {
        let identity = AgeIdentity.generate()
        let recipient = try #require(identity.recipient)
        #expect(recipient.description.hasPrefix("age1"))
        #expect(try AgeRecipient(recipient.description) == recipient)
        let secret = try #require(identity.secretKeyString())
        #expect(secret.hasPrefix("AGE-SECRET-KEY-1"))
        #expect(try AgeIdentity(secret).recipient == recipient)
        #expect(try AgeIdentity(secret.lowercased()).recipient == recipient)
    }

    @Test func printingAnIdentityNeverShowsTheSecret() throws {
        let identity = AgeIdentity.generate()
        let secret = try #require(identity.secretKeyString())
        for text in [identity.description, "\(identity)", String(reflecting: identity), String(describing: [identity])] {
            #expect(!text.contains(secret))
            #expect(!text.uppercased().contains(secret.dropFirst(16)))
        }
        var dumped = ""
        dump(identity, to: &dumped)
        #expect(!dumped.contains(secret) && !dumped.uppercased().contains(secret.dropFirst(16)))
    }

    @Test("malformed keys are refused", arguments: [
        "", "AGE-SECRET-KEY-1", "age1xyz", "AGE-SECRET-KEY-1E6GWQFKR7JZ8WWFYYTHHD7SU2U9V8VUY4ZHDJ2MAPGXQJ8DLDHPQ4GT6XD",
        "Age-Secret-Key-1E6GWQFKR7JZ8WWFYYTHHD7SU2U9V8VUY4ZHDJ2MAPGXQJ8DLDHPQ4GT6XC",
        "AGE-SECRET-KEY-PQ-1HZLGZUPT4ETPKDEV8HSGFDCYZ4E522W0A7PU2LHT8EH9W6YLNC3SW78XKG", "AGE-PLUGIN-YUBIKEY-1QQQ",
    ])
    func malformedIdentity(text: String) {
        let error = #expect(throws: SOPSError.self) { try AgeIdentity(text) }
        #expect(error?.code == .invalidKey)
        #expect(error.map { !$0.message.contains("E6GWQFKR7") } ?? true)
    }

    @Test("malformed recipients are refused", arguments: [
        "", "age1", "AGE1JE6KJHZUHDJY3FQPTPTTXJH5K8Q46VYGZLGTPUQ3030C947PC5TQZ9DQVR",
        "age1je6kjhzuhdjy3fqptpttxjh5k8q46vygzlgtpuq3030c947pc5tqz9dqvs", "age1pq1abc", "ssh-rsa AAAAB3NzaC1yc2E",
    ])
    func malformedRecipient(text: String) {
        #expect(throws: SOPSError.self) { try AgeRecipient(text) }
    }

    @Test func knownKeyPair() throws {
        #expect(try AgeIdentity(Self.secret).recipient?.description == Self.recipient)
    }

    @Test("encrypt/decrypt across chunk boundaries", arguments: [0, 1, 48, 65535, 65536, 65537, 2 * 65536, 200_001])
    func roundTrip(size: Int) throws {
        let identity = AgeIdentity.generate()
        let plaintext = Bytes.random(size)
        for armored in [false, true] {
            let file = try Age.encrypt(plaintext, to: [try #require(identity.recipient)], armored: armored)
            #expect(AgeArmor.isArmored(file) == armored)
            #expect(try Age.decrypt(file, identities: [identity]) == plaintext)
        }
    }

    @Test func severalRecipientsEachDecrypt() throws {
        let identities = (0..<3).map { _ in AgeIdentity.generate() }
        let file = try Age.encrypt(Array("hello".utf8), to: identities.compactMap(\.recipient))
        for identity in identities {
            #expect(try Age.decrypt(file, identities: [identity]) == Array("hello".utf8))
        }
        let error = #expect(throws: SOPSError.self) { try Age.decrypt(file, identities: [AgeIdentity.generate()]) }
        #expect(error?.code == .ageNoMatch)
    }

    @Test func passphrase() throws {
        let file = try Age.encrypt(Array("secret".utf8), passphrase: "correct horse", workFactor: 10, armored: true)
        #expect(try Age.decrypt(file, identities: [AgeIdentity(passphrase: "correct horse")]) == Array("secret".utf8))
        let error = #expect(throws: SOPSError.self) { try Age.decrypt(file, identities: [AgeIdentity(passphrase: "wrong")]) }
        #expect(error?.code == .ageNoMatch)
    }

    @Test func sshEd25519RoundTrip() throws {
        guard fixturesExist else { return }
        let identity = try AgeIdentity(sshPrivateKey: try Fixtures.text("sops/keys/sops-nix-ssh-ed25519-key"))
        let recipient = try AgeRecipient(try Fixtures.text("sops/keys/sops-nix-ssh-ed25519-key.pub"))
        #expect(identity.recipient == recipient)
        let file = try Age.encrypt(Array("over ssh".utf8), to: [recipient], armored: true)
        #expect(try Age.decrypt(file, identities: [identity]) == Array("over ssh".utf8))
    }

    @Test func keyFileFormat() throws {
        let identity = AgeIdentity.generate()
        let secret = try #require(identity.secretKeyString())
        let text = "# created: 2024-01-01T00:00:00Z\r\n# public key: \(identity.recipient!)\r\n\(secret)\r\n\n\(Self.secret)"
        let parsed = try AgeKeyFile.parse(text)
        #expect(parsed.map(\.recipient) == [identity.recipient, try AgeIdentity(Self.secret).recipient])
        let error = #expect(throws: SOPSError.self) { try AgeKeyFile.parse("# ok\n  \(secret)\n", source: "keys.txt") }
        #expect(error?.message.hasPrefix("keys.txt, line 2:") == true)
        #expect(error.map { !$0.message.contains(secret) } ?? true)
    }

    @Test func streamingDecryptReleasesOnlyAuthenticatedChunks() throws {
        let identity = AgeIdentity.generate()
        let plaintext = Bytes.random(3 * 65536 + 10)
        var file = try Age.encrypt(plaintext, to: [identity.recipient!])
        file[file.count - 20] ^= 1  // damage the last chunk
        var released: [UInt8] = []
        let error = #expect(throws: SOPSError.self) {
            try Age.decrypt(file, identities: [identity]) { released += $0 }
        }
        #expect(error?.code == .agePayload)
        #expect(released == Array(plaintext.prefix(3 * 65536)))
    }

    @Test func everyTruncationAndBitFlipIsRefusedWithoutCrashing() throws {
        let identity = AgeIdentity.generate()
        for armored in [false, true] {
            let file = try Age.encrypt(Array("a small secret".utf8), to: [identity.recipient!], armored: armored)
            // (An armored file without its final newline is still valid.)
            for length in 0..<(armored ? file.count - 1 : file.count) {
                #expect(throws: SOPSError.self) { try Age.decrypt(Array(file.prefix(length)), identities: [identity], armored: armored) }
            }
            for index in file.indices {
                var damaged = file
                damaged[index] ^= 0x04
                // None may crash, and none may decrypt: every byte is covered by the header MAC,
                // a stanza, the payload's tags or the armor's strict encoding.
                if let result = try? Age.decrypt(damaged, identities: [identity], armored: armored) {
                    Issue.record("flipping byte \(index) of the \(armored ? "armored" : "binary") file still decrypts")
                    #expect(result == Array("a small secret".utf8))
                }
            }
        }
    }

    @Test func garbageInputs() {
        let identity = AgeIdentity.generate()
        let inputs: [[UInt8]] = [
            [], Array("age-encryption.org/v1\n".utf8), Array("age-encryption.org/v1\n-> X25519\n".utf8),
            Array("age-encryption.org/v1\n-> X25519 AAAA\n\n--- AAAA\n".utf8),
            Array("-----BEGIN AGE ENCRYPTED FILE-----\n====\n-----END AGE ENCRYPTED FILE-----\n".utf8),
            [UInt8](repeating: 0xFF, count: 1000), Array("age-encryption.org/v1\n".utf8) + [UInt8](repeating: 0x41, count: 100_000),
        ]
        for input in inputs {
            #expect(throws: SOPSError.self) { try Age.decrypt(input, identities: [identity]) }
        }
    }

    @Test func bech32KnownVector() throws {
        // BIP 173 valid test string (any HRP, no length limit in age's variant).
        let decoded = try #require(Bech32.decode("A12UEL5L"))
        #expect(decoded.hrp == "a" && decoded.data.isEmpty)
        #expect(Bech32.decode("a12uel5l") != nil)
        #expect(Bech32.decode("A12uEL5L") == nil)
        #expect(Bech32.decode("a12uel5m") == nil)
    }
}
