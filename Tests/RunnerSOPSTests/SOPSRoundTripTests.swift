import Foundation
import Testing

@testable import RunnerSOPS

/// Encrypt → decrypt round trips for each format and rule, and what the encrypted file holds.
@Suite("sops encrypt/decrypt round trips")
struct SOPSRoundTripTests {
    let identity = AgeIdentity.generate()
    var recipient: AgeRecipient { identity.recipient! }

    func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    // MARK: dotenv

    static let dotenv = """
        #comment at the top
        DATABASE_URL=postgres://app:s3cr3t@db/app
        MULTI=line one\\nline two
        EMPTY=
        spaced = value with spaces
        QUOTED="kept as is"
        LOG_LEVEL_unencrypted=debug

        """

    @Test func dotenvRoundTripIsByteExact() throws {
        let encrypted = try SOPSEncrypter(recipients: [recipient]).encrypt(Array(Self.dotenv.utf8), format: .dotenv)
        let text = lines(encrypted)
        #expect(text.contains { $0.hasPrefix("#ENC[AES256_GCM,data:") && $0.hasSuffix(",type:comment]") })
        #expect(text.contains { $0.hasPrefix("DATABASE_URL=ENC[AES256_GCM,data:") && $0.hasSuffix(",type:str]") })
        #expect(text.contains("EMPTY="))
        #expect(text.contains("LOG_LEVEL_unencrypted=debug"))
        #expect(text.contains { $0.hasPrefix("spaced =ENC[") })
        #expect(!text.contains { $0.contains("s3cr3t") || $0.contains("line one") })
        // Metadata: flattened, sorted, sops 3.13 layout.
        let metadata = text.filter { $0.hasPrefix("sops_") }.map { String($0.prefix { $0 != "=" }) }
        #expect(metadata == [
            "sops_age__list_0__map_enc", "sops_age__list_0__map_recipient", "sops_lastmodified", "sops_mac",
            "sops_unencrypted_suffix", "sops_version",
        ])
        #expect(text.contains("sops_age__list_0__map_recipient=\(recipient)"))
        #expect(text.contains("sops_unencrypted_suffix=_unencrypted"))
        #expect(text.contains("sops_version=\(SOPSEncrypter.sopsVersion)"))
        let enc = try #require(text.first { $0.hasPrefix("sops_age__list_0__map_enc=") })
        #expect(enc.contains("-----BEGIN AGE ENCRYPTED FILE-----\\n") && enc.hasSuffix("-----END AGE ENCRYPTED FILE-----\\n"))
        let lastModified = try #require(text.first { $0.hasPrefix("sops_lastmodified=") }).dropFirst("sops_lastmodified=".count)
        #expect(SOPSTimestamp.parse(String(lastModified)) == String(lastModified))
        #expect(lastModified.hasSuffix("Z") && lastModified.count == 20)

        let decrypted = try SOPSFile.decrypt(data: encrypted, format: .dotenv, identities: [identity])
        #expect(String(decoding: decrypted.plaintext, as: UTF8.self) == Self.dotenv.replacingOccurrences(of: "\n\n", with: "\n"))
        #expect(decrypted.entries.map(\.name) == ["DATABASE_URL", "MULTI", "EMPTY", "spaced ", "QUOTED", "LOG_LEVEL_unencrypted"])
        #expect(decrypted.entries[1].value == "line one\nline two")
    }

    @Test func encryptingTwiceIsRefused() throws {
        let encrypted = try SOPSEncrypter(recipients: [recipient]).encrypt(Array(Self.dotenv.utf8), format: .dotenv)
        let error = #expect(throws: SOPSError.self) { try SOPSEncrypter(recipients: [recipient]).encrypt(encrypted, format: .dotenv) }
        #expect(error?.exitCode == 203)
    }

    // MARK: YAML

    static let yaml = """
        apiVersion: v1
        kind: Secret
        metadata:
            name: app
        # the values
        stringData:
            password: hunter2 # inline
            port: 5432
            ratio: 0.25
            enabled: true
            list:
                - one
                - two
            cert: |
                -----BEGIN CERTIFICATE-----
                MIIB
                -----END CERTIFICATE-----
            # trailing comment
        data:
            blob: aGVsbG8=

        """

    @Test func yamlWithEncryptedRegex() throws {
        let encrypter = SOPSEncrypter(recipients: [recipient], rule: .encryptedRegex("^(data|stringData)$"))
        let encrypted = try encrypter.encrypt(Array(Self.yaml.utf8), format: .yaml)
        let text = String(decoding: encrypted, as: UTF8.self)
        // A top-level comment's path is empty, so encrypted_regex leaves it in clear (as sops does).
        #expect(text.hasPrefix("apiVersion: v1\nkind: Secret\nmetadata:\n    name: app\n# the values\nstringData:\n"))
        #expect(text.contains("    password: ENC[AES256_GCM,") && text.contains(",type:str] #ENC[AES256_GCM,"))
        #expect(text.contains(",type:int]") && text.contains(",type:float]") && text.contains(",type:bool]"))
        #expect(text.contains("        - ENC[AES256_GCM,"))
        #expect(text.contains("    encrypted_regex: ^(data|stringData)$\n"))
        #expect(!text.contains("hunter2") && !text.contains("trailing comment") && !text.contains("MIIB") && !text.contains("inline"))
        #expect(text.contains("\nsops:\n    age:\n        - enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n"))
        #expect(text.contains("          recipient: \(recipient)\n    encrypted_regex: ^(data|stringData)$\n    lastmodified: \""))

        let decrypted = try SOPSFile.decrypt(data: encrypted, format: .yaml, identities: [identity])
        // yaml.v3 style: the head comment of `stringData` stays above it, the inline one after its value.
        #expect(String(decoding: decrypted.plaintext, as: UTF8.self) == Self.yaml.replacingOccurrences(of: "\n\n", with: "\n"))
        let entries = Dictionary(uniqueKeysWithValues: decrypted.entries.map { ($0.name, $0.value) })
        #expect(entries["stringData.password"] == "hunter2")
        #expect(entries["stringData.port"] == "5432")
        #expect(entries["stringData.list.1"] == "two")
        #expect(entries["metadata.name"] == "app")
    }

    @Test func yamlDefaultSuffixRuleAndMultipleDocuments() throws {
        let plain = "a: 1\nb_unencrypted: visible\n---\nc: secret\n"
        let encrypted = try SOPSEncrypter(recipients: [recipient]).encrypt(Array(plain.utf8), format: .yaml)
        let text = String(decoding: encrypted, as: UTF8.self)
        #expect(text.components(separatedBy: "\nsops:\n").count == 3)  // metadata in both documents
        #expect(text.contains("b_unencrypted: visible"))
        let decrypted = try SOPSFile.decrypt(data: encrypted, format: .yaml, identities: [identity])
        #expect(String(decoding: decrypted.plaintext, as: UTF8.self) == plain)
    }

    // MARK: JSON

    static let json = """
        {
        \t"name": "app",
        \t"count": 3,
        \t"ratio": 1.5,
        \t"big": 1e+21,
        \t"on": false,
        \t"none": null,
        \t"html": "<b>&amp;</b>",
        \t"nested": {
        \t\t"list": [
        \t\t\t1,
        \t\t\t"two",
        \t\t\t{}
        \t\t],
        \t\t"empty": [],
        \t\t"token_unencrypted": "visible"
        \t}
        }

        """

    @Test func jsonRoundTripIsByteExact() throws {
        let encrypted = try SOPSEncrypter(recipients: [recipient]).encrypt(Array(Self.json.utf8), format: .json)
        let text = String(decoding: encrypted, as: UTF8.self)
        #expect(text.contains("\t\t\"token_unencrypted\": \"visible\""))
        #expect(text.contains("\"none\": null"))
        #expect(text.contains("\t\"sops\": {\n\t\t\"age\": [\n\t\t\t{\n\t\t\t\t\"enc\": \"-----BEGIN AGE ENCRYPTED FILE-----\\n"))
        #expect(text.contains(",type:int]") && text.contains(",type:float]") && text.contains(",type:bool]"))
        let decrypted = try SOPSFile.decrypt(data: encrypted, format: .json, identities: [identity])
        #expect(String(decoding: decrypted.plaintext, as: UTF8.self) == Self.json.replacingOccurrences(of: "&", with: "\\u0026").replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e"))
    }

    // MARK: binary

    @Test func binaryRoundTripKeepsBytes() throws {
        let bytes: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 0x80] + Array("tail\n".utf8)
        let encrypted = try SOPSEncrypter(recipients: [recipient]).encrypt(bytes, format: .binary)
        let text = String(decoding: encrypted, as: UTF8.self)
        #expect(text.hasPrefix("{\n\t\"data\": \"ENC[AES256_GCM,"))
        #expect(!text.contains("unencrypted_suffix"))
        #expect(try SOPSFile.decrypt(data: encrypted, format: .binary, identities: [identity]).plaintext == bytes)
    }

    // MARK: rules

    @Test("every crypt rule round-trips and is recorded", arguments: [
        SOPSCryptRule.unencryptedSuffix("_plain"), .encryptedSuffix("_secret"), .unencryptedRegex("^pub"),
        .encryptedRegex("^(token|password)$"),
    ])
    func rules(rule: SOPSCryptRule) throws {
        let plain = "token: a\npassword_secret: b\npublic: c\nplain_plain: d\n"
        let encrypted = try SOPSEncrypter(recipients: [recipient], rule: rule).encrypt(Array(plain.utf8), format: .yaml)
        let text = String(decoding: encrypted, as: UTF8.self)
        #expect(text.contains("    \(rule.metadataField.key): \(rule.metadataField.value)\n"))
        let decrypted = try SOPSFile.decrypt(data: encrypted, format: .yaml, identities: [identity])
        #expect(String(decoding: decrypted.plaintext, as: UTF8.self) == plain)
        let inClear = plain.split(separator: "\n").filter { text.contains($0 + "\n") }.map { String($0.prefix { $0 != ":" }) }
        switch rule {
        case .unencryptedSuffix: #expect(inClear == ["plain_plain"])
        case .encryptedSuffix: #expect(inClear == ["token", "public", "plain_plain"])
        case .unencryptedRegex: #expect(inClear == ["public"])
        case .encryptedRegex: #expect(inClear == ["password_secret", "public", "plain_plain"])
        default: break
        }
    }

    @Test func catastrophicRegexesAreRefused() throws {
        for pattern in ["(a+)+$", "(.*x)*", "((ab)*c)+", "(a|aa)+"] where SOPSCryptMatcher.hasNestedRepetition(pattern) {
            #expect(throws: SOPSError.self) { try SOPSCryptMatcher(.encryptedRegex(pattern)) }
        }
        #expect(SOPSCryptMatcher.hasNestedRepetition("(a+)+$"))
        #expect(SOPSCryptMatcher.hasNestedRepetition("(.*x)*"))
        for pattern in ["^(data|stringData)$", "(?i)^pass", "(?:a|b)+", "^(.*password.*)$", "[(+)]+", "\\(a+\\)+", "(a|b)*c"] {
            #expect(!SOPSCryptMatcher.hasNestedRepetition(pattern), "\(pattern)")
            #expect(throws: Never.self) { try SOPSCryptMatcher(.encryptedRegex(pattern)) }
        }
    }

    @Test func encryptedCommentRegex() throws {
        let plain = "# sops:enc\nsecret: a\nplain: b\n"
        let encrypted = try SOPSEncrypter(recipients: [recipient], rule: .encryptedCommentRegex("sops:enc")).encrypt(Array(plain.utf8), format: .yaml)
        let text = String(decoding: encrypted, as: UTF8.self)
        #expect(text.hasPrefix("# sops:enc\nsecret: ENC[") && text.contains("\nplain: b\n"))
        #expect(String(decoding: try SOPSFile.decrypt(data: encrypted, format: .yaml, identities: [identity]).plaintext, as: UTF8.self) == plain)
    }

    @Test func macOnlyEncrypted() throws {
        let plain = "SECRET=a\nNOTE_unencrypted=b\n"
        let encrypted = try SOPSEncrypter(recipients: [recipient], macOnlyEncrypted: true).encrypt(Array(plain.utf8), format: .dotenv)
        #expect(lines(encrypted).contains("sops_mac_only_encrypted=true"))
        // Editing a clear value keeps the MAC valid in this mode...
        let edited = String(decoding: encrypted, as: UTF8.self).replacingOccurrences(of: "NOTE_unencrypted=b", with: "NOTE_unencrypted=c")
        #expect(try SOPSFile.decrypt(data: Array(edited.utf8), format: .dotenv, identities: [identity]).entries.last?.value == "c")
        // ...but not in the default mode.
        let normal = try SOPSEncrypter(recipients: [recipient]).encrypt(Array(plain.utf8), format: .dotenv)
        let tampered = String(decoding: normal, as: UTF8.self).replacingOccurrences(of: "NOTE_unencrypted=b", with: "NOTE_unencrypted=c")
        let error = #expect(throws: SOPSError.self) { try SOPSFile.decrypt(data: Array(tampered.utf8), format: .dotenv, identities: [identity]) }
        #expect(error?.exitCode == 51)
    }

    @Test func severalRecipientsEachDecrypt() throws {
        let others = [AgeIdentity.generate(), AgeIdentity.generate()]
        let encrypted = try SOPSEncrypter(recipients: [recipient] + others.compactMap(\.recipient)).encrypt(Array("A=b\n".utf8), format: .dotenv)
        for identity in [identity] + others {
            #expect(try SOPSFile.decrypt(data: encrypted, format: .dotenv, identities: [identity]).plaintext == Array("A=b\n".utf8))
        }
        let metadata = try SOPSFile.metadata(data: encrypted, format: .dotenv)
        #expect(metadata.keyGroups.first?.age.map(\.recipient) == ([recipient] + others.compactMap(\.recipient)).map(\.description))
    }

    // MARK: .sops.yaml

    @Test func creationRulesPickTheFirstMatchingPath() throws {
        let other = AgeIdentity.generate()
        let config = try SOPSConfig(yaml: Array("""
            stores:
                yaml:
                    indent: 2
            creation_rules:
                - path_regex: secrets/prod/.*\\.yaml$
                  encrypted_regex: ^(data|stringData)$
                  age: >-
                      \(recipient),
                      \(other.recipient!)
                - path_regex: \\.env$
                  key_groups:
                      - age:
                            - \(recipient)
                - age: \(other.recipient!)
            """.utf8))
        #expect(config.creationRules.count == 3)
        #expect(config.style.yamlIndent == 2)
        let prod = try #require(try config.creationRule(forFile: "/repo/secrets/prod/db.yaml", configDirectory: "/repo"))
        #expect(prod.age == [recipient.description, other.recipient!.description])
        #expect(prod.rule == .encryptedRegex("^(data|stringData)$"))
        #expect(try config.creationRule(forFile: "/repo/app/.env", configDirectory: "/repo")?.age == [recipient.description])
        #expect(try config.creationRule(forFile: "/repo/other.json", configDirectory: "/repo")?.age == [other.recipient!.description])

        let encrypter = try SOPSEncrypter(creationRule: prod, style: config.style)
        let encrypted = try encrypter.encrypt(Array("data:\n  key: v\nmeta: m\n".utf8), format: .yaml)
        let text = String(decoding: encrypted, as: UTF8.self)
        #expect(text.hasPrefix("data:\n  key: ENC[") && text.contains("\nmeta: m\n") && text.contains("  encrypted_regex: ^(data|stringData)$\n"))
        #expect(try SOPSFile.decrypt(data: encrypted, format: .yaml, identities: [other], style: config.style).plaintext == Array("data:\n  key: v\nmeta: m\n".utf8))
    }

    @Test func findsTheNearestConfigUpwards() throws {
        let directory = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("creation_rules:\n    - age: \(recipient)\n".utf8).write(to: directory.appendingPathComponent(".sops.yaml"))
        let nested = directory.appendingPathComponent("a/b")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        let found = try #require(try SOPSConfig.find(forFile: nested.appendingPathComponent("x.env").path))
        #expect(found.directory == directory.path)
        #expect(found.config.creationRules.first?.age == [recipient.description])
    }

    @Test func formatFromFileName() {
        #expect(SOPSFormat(fileName: "a.yaml") == .yaml)
        #expect(SOPSFormat(fileName: "a.yml") == .yaml)
        #expect(SOPSFormat(fileName: "a.YAML") == .binary)  // sops compares case-sensitively
        #expect(SOPSFormat(fileName: "a.json") == .json)
        #expect(SOPSFormat(fileName: ".env") == .dotenv)
        #expect(SOPSFormat(fileName: "deploy.env.sops") == .binary)
        #expect(SOPSFormat(fileName: "a.ini") == .binary)
    }
}
