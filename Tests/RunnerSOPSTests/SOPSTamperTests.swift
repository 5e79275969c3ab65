import Foundation
import Testing

@testable import RunnerSOPS

/// Modified files are refused with sops' exit codes, and no error message ever carries a
/// plaintext value or key material.
@Suite("sops tampering and error hygiene")
struct SOPSTamperTests {
    static let secrets = ["hunter2-unique-secret", "db-password-9f8e7d", "token-with-newline-one", "comment-secret-xyz", "visible-clear-value"]
    static let dotenv = """
        #\(secrets[3])
        PASSWORD=\(secrets[0])
        DB=\(secrets[1])
        TOKEN=\(secrets[2])\\nline-two
        NOTE_unencrypted=\(secrets[4])

        """

    let identity = AgeIdentity.generate()

    private func encrypted() throws -> String {
        String(decoding: try SOPSEncrypter(recipients: [identity.recipient!]).encrypt(Array(Self.dotenv.utf8), format: .dotenv), as: UTF8.self)
    }

    private func refuse(_ text: String, identities: [AgeIdentity]? = nil, sourceLocation: SourceLocation = #_sourceLocation) -> SOPSError? {
        let error = #expect(throws: SOPSError.self, sourceLocation: sourceLocation) {
            try SOPSFile.decrypt(data: Array(text.utf8), format: .dotenv, identities: identities ?? [identity])
        }
        if let error { Self.assertClean(error, extra: [identity.secretKeyString() ?? ""], sourceLocation: sourceLocation) }
        return error
    }

    /// No secret, no secret key, no 32-byte key in hex or base64 in the message.
    static func assertClean(_ error: SOPSError, extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        let text = "\(error) \(error.message) \(String(reflecting: error))"
        for secret in secrets + extra where !secret.isEmpty {
            #expect(!text.contains(secret), "error message leaks a secret: \(error.code)", sourceLocation: sourceLocation)
        }
        #expect(!text.contains("AGE-SECRET-KEY-1"), sourceLocation: sourceLocation)
    }

    private func lines(_ text: String) -> [String] { text.components(separatedBy: "\n") }

    @Test func untouchedFileDecrypts() throws {
        let file = try encrypted()
        let result = try SOPSFile.decrypt(data: Array(file.utf8), format: .dotenv, identities: [identity])
        #expect(result.entries.map(\.value) == [Self.secrets[0], Self.secrets[1], Self.secrets[2] + "\nline-two", Self.secrets[4]])
        #expect(result.entries.allSatisfy { !"\($0)".contains($0.value) })  // printing an entry hides the value
    }

    @Test func swappedValuesFailTheMAC() throws {
        var l = lines(try encrypted())
        l.swapAt(1, 2)
        #expect(refuse(l.joined(separator: "\n"))?.exitCode == 51)
    }

    @Test func droppedValueFailsTheMAC() throws {
        var l = lines(try encrypted())
        l.remove(at: 2)
        #expect(refuse(l.joined(separator: "\n"))?.exitCode == 51)
    }

    @Test func changedClearValueFailsTheMAC() throws {
        let text = try encrypted().replacingOccurrences(of: "NOTE_unencrypted=\(Self.secrets[4])", with: "NOTE_unencrypted=other")
        #expect(refuse(text)?.exitCode == 51)
    }

    @Test func changedLastModifiedFailsTheMAC() throws {
        let text = try encrypted()
        let line = try #require(lines(text).first { $0.hasPrefix("sops_lastmodified=") })
        let changed = text.replacingOccurrences(of: line, with: "sops_lastmodified=2001-01-01T00:00:00Z")
        let error = refuse(changed)
        #expect(error?.exitCode == 51)
        #expect(error?.message.hasPrefix("cannot decrypt the MAC") == true)
    }

    @Test func removedMACIsRefused() throws {
        let text = lines(try encrypted()).filter { !$0.hasPrefix("sops_mac=") }.joined(separator: "\n")
        let error = refuse(text)
        #expect(error?.exitCode == 51)
        #expect(error?.message.contains("no MAC") == true)
    }

    @Test func renamedKeyFailsToDecrypt() throws {
        let text = try encrypted().replacingOccurrences(of: "\nDB=ENC", with: "\nDB2=ENC")
        let error = refuse(text)
        #expect(error?.exitCode == 25)
        #expect(error?.message.contains("'DB2'") == true)
    }

    @Test func modifiedCiphertextFailsToDecrypt() throws {
        let text = try encrypted()
        let line = try #require(lines(text).first { $0.hasPrefix("PASSWORD=ENC[AES256_GCM,data:") })
        var bytes = Array(line.utf8)
        let index = "PASSWORD=ENC[AES256_GCM,data:".utf8.count
        bytes[index] = bytes[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(refuse(text.replacingOccurrences(of: line, with: String(decoding: bytes, as: UTF8.self)))?.exitCode == 25)
    }

    @Test func injectedPlainLineIsRefused() throws {
        let error = refuse(try encrypted() + "INJECTED=\(Self.secrets[0])\n")
        #expect(error?.exitCode == 25)
        #expect(error?.message.contains("not an encrypted value") == true)
    }

    @Test func wrongIdentityIsRefused() throws {
        let error = refuse(try encrypted(), identities: [AgeIdentity.generate()])
        #expect(error?.exitCode == 128)
        #expect(error?.message.hasPrefix("no age identity for this file") == true)
    }

    @Test func damagedDataKeyStanzaIsReported() throws {
        let text = try encrypted()
        let line = try #require(lines(text).first { $0.hasPrefix("sops_age__list_0__map_enc=") })
        // Flip one base64 character in the middle of the armored header.
        var bytes = Array(line.utf8)
        let index = line.utf8.count / 2
        bytes[index] = bytes[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let error = refuse(text.replacingOccurrences(of: line, with: String(decoding: bytes, as: UTF8.self)))
        #expect(error?.exitCode == 128)
    }

    @Test func metadataMissingOrMalformed() throws {
        #expect(refuse("PASSWORD=x\n")?.code == .metadataNotFound)
        let crlf = try encrypted().replacingOccurrences(of: "\n", with: "\r\n")
        #expect(refuse(crlf)?.exitCode == 1)
        #expect(refuse("no equals sign\n")?.code == .invalidFile)
    }

    @Test func everyTruncationIsRefusedWithoutCrashing() throws {
        for format in SOPSFormat.allCases {
            let plain: String =
                switch format {
                case .dotenv: Self.dotenv
                case .yaml: "a: \(Self.secrets[0])\nb:\n    - \(Self.secrets[1])\n"
                case .json: "{\"a\": \"\(Self.secrets[0])\", \"b\": [1, 2.5, true]}"
                case .binary: Self.secrets[0]
                }
            let file = try SOPSEncrypter(recipients: [identity.recipient!]).encrypt(Array(plain.utf8), format: format)
            // sops does not authenticate `unencrypted_suffix` and `version`, which come last: cutting
            // into them may still decrypt (the same holds for sops itself).
            let text = String(decoding: file, as: UTF8.self)
            let unauthenticated = ["unencrypted_suffix", "version"].compactMap { text.range(of: $0, options: .backwards) }
                .map { text.utf8.distance(from: text.utf8.startIndex, to: $0.lowerBound) }.min() ?? file.count
            var step = 1
            var length = 0
            while length < file.count - 1 {
                do {
                    _ = try SOPSFile.decrypt(data: Array(file.prefix(length)), format: format, identities: [identity])
                    #expect(length >= unauthenticated, "\(format) truncated to \(length) of \(file.count) decrypted")
                } catch {
                    Self.assertClean(error)
                }
                length += step
                step = step == 1 ? 7 : 1
            }
        }
    }

    @Test func hostileInputs() {
        let inputs: [(SOPSFormat, String)] = [
            (.json, String(repeating: "[", count: 100_000)),
            (.json, "{\"sops\": {\"age\": [{\"enc\": \"\(String(repeating: "A", count: 100_000))\"}], \"lastmodified\": \"2020-01-01T00:00:00Z\", \"mac\": \"ENC[\"}}"),
            (.yaml, String(repeating: "- ", count: 10_000) + "x"),
            (.yaml, "a: &a [*a]\n"),
            (.yaml, "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"),
            (.dotenv, "sops_age__list_99999999999999999999__map_enc=x\nsops_lastmodified=2020-01-01T00:00:00Z\n"),
            (.dotenv, "sops_age__list_5__map_enc=x\nsops_lastmodified=2020-01-01T00:00:00Z\nsops_mac=\n"),
            (.dotenv, "A=ENC[AES256_GCM,data:!!!!,iv:====,tag:,type:str]\nsops_lastmodified=2020-01-01T00:00:00Z\nsops_age__list_0__map_enc=-----BEGIN AGE ENCRYPTED FILE-----\\nAAAA\\n-----END AGE ENCRYPTED FILE-----\\n\n"),
            (.binary, "\u{0}\u{1}"),
        ]
        for (format, text) in inputs {
            let error = #expect(throws: SOPSError.self) { try SOPSFile.decrypt(data: Array(text.utf8), format: format, identities: [identity]) }
            if let error { Self.assertClean(error) }
        }
    }

    @Test func encryptionErrorsAreClean() {
        let recipient = identity.recipient!
        let cases: [(SOPSFormat, String)] = [
            (.dotenv, "sops_x=\(Self.secrets[0])\n"),
            (.dotenv, "line without equals \(Self.secrets[0])\n"),
            (.yaml, "- \(Self.secrets[0])\n"),
            (.yaml, "a: [\(Self.secrets[0])\n"),
            (.yaml, "a: !!int \(Self.secrets[0])\n"),
            (.json, "[\"\(Self.secrets[0])\"]"),
            (.json, "{\"a\": \"\(Self.secrets[0])\"} trailing"),
        ]
        for (format, text) in cases {
            let error = #expect(throws: SOPSError.self) { try SOPSEncrypter(recipients: [recipient]).encrypt(Array(text.utf8), format: format) }
            if let error { Self.assertClean(error) }
        }
    }
}
