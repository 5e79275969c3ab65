import Foundation
import Testing

@testable import RunnerSOPS

private let agePath = Tool.find("age")
private let ageKeygenPath = Tool.find("age-keygen")

/// Interoperability with the real `age` CLI (Debian package `age`): files we write, age reads,
/// and the other way round.
@Suite(
    "age CLI interoperability",
    .enabled(if: agePath != nil && ageKeygenPath != nil, "the age CLI is not on PATH (apt-get install age)"))
struct AgeCLITests {
    /// A key made by age-keygen, written to a key file.
    private func keygen(in directory: URL) throws -> (file: String, identities: [AgeIdentity]) {
        let file = directory.appendingPathComponent("key.txt").path
        let result = try Tool.run(try #require(ageKeygenPath), ["-o", file])
        #expect(result.status == 0, "\(result.stderr)")
        return (file, try AgeKeyFile.parse(try String(contentsOfFile: file, encoding: .utf8)))
    }

    @Test("runner encrypts, age decrypts", arguments: [0, 100, 70_000])
    func runnerToAge(size: Int) throws {
        let directory = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (keyFile, identities) = try keygen(in: directory)
        let plaintext = Bytes.random(size)
        for armored in [false, true] {
            let encrypted = directory.appendingPathComponent("file.age")
            try Data(try Age.encrypt(plaintext, to: [try #require(identities.first?.recipient)], armored: armored)).write(to: encrypted)
            let result = try Tool.run(try #require(agePath), ["-d", "-i", keyFile, encrypted.path])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == plaintext)
        }
    }

    @Test("age encrypts, runner decrypts", arguments: [0, 100, 70_000])
    func ageToRunner(size: Int) throws {
        let directory = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, identities) = try keygen(in: directory)
        let other = AgeIdentity.generate()
        let plaintext = Bytes.random(size)
        let input = directory.appendingPathComponent("plain")
        try Data(plaintext).write(to: input)
        for armor in [[], ["-a"]] {
            let output = directory.appendingPathComponent("out.age")
            let recipients = ["-r", try #require(identities.first?.recipient).description, "-r", try #require(other.recipient).description]
            let result = try Tool.run(try #require(agePath), ["-e"] + armor + recipients + ["-o", output.path, input.path])
            #expect(result.status == 0, "\(result.stderr)")
            let file = [UInt8](try Data(contentsOf: output))
            #expect(try Age.decrypt(file, identities: identities) == plaintext)
            #expect(try Age.decrypt(file, identities: [other]) == plaintext)
        }
    }

    @Test func sshEd25519BothWays() throws {
        guard fixturesExist else { return }
        let directory = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = Fixtures.url("sops/keys/sops-nix-ssh-ed25519-key").path
        let publicPath = Fixtures.url("sops/keys/sops-nix-ssh-ed25519-key.pub").path
        let identity = try AgeIdentity(sshPrivateKey: try Fixtures.text("sops/keys/sops-nix-ssh-ed25519-key"))
        let plaintext = Array("ssh secret".utf8)

        let ours = directory.appendingPathComponent("ours.age")
        try Data(try Age.encrypt(plaintext, to: [try #require(identity.recipient)])).write(to: ours)
        // age refuses private key files readable by others; copy with 0600.
        let privateCopy = directory.appendingPathComponent("id_ed25519")
        try FileManager.default.copyItem(atPath: keyPath, toPath: privateCopy.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: privateCopy.path)
        let decrypted = try Tool.run(try #require(agePath), ["-d", "-i", privateCopy.path, ours.path])
        #expect(decrypted.status == 0, "\(decrypted.stderr)")
        #expect(decrypted.stdout == plaintext)

        let input = directory.appendingPathComponent("plain")
        try Data(plaintext).write(to: input)
        let theirs = directory.appendingPathComponent("theirs.age")
        let encrypted = try Tool.run(try #require(agePath), ["-e", "-R", publicPath, "-o", theirs.path, input.path])
        #expect(encrypted.status == 0, "\(encrypted.stderr)")
        #expect(try Age.decrypt([UInt8](try Data(contentsOf: theirs)), identities: [identity]) == plaintext)
    }

    @Test("the data key stanza of a runner-encrypted sops file opens with age -d", arguments: SOPSFormat.allCases)
    func sopsDataKeyStanza(format: SOPSFormat) throws {
        let directory = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (keyFile, identities) = try keygen(in: directory)
        let plain: String =
            switch format {
            case .dotenv: "TOKEN=abc\n"
            case .yaml: "token: abc\n"
            case .json: "{\"token\": \"abc\"}\n"
            case .binary: "abc"
            }
        let file = try SOPSEncrypter(recipients: [try #require(identities.first?.recipient)]).encrypt(Array(plain.utf8), format: format)
        let metadata = try SOPSFile.metadata(data: file, format: format)
        let enc = try #require(metadata.keyGroups.first?.age.first?.enc)
        #expect(enc.hasPrefix("-----BEGIN AGE ENCRYPTED FILE-----\n") && enc.hasSuffix("-----END AGE ENCRYPTED FILE-----\n"))
        let stanza = directory.appendingPathComponent("enc.age")
        try Data(enc.utf8).write(to: stanza)
        let result = try Tool.run(try #require(agePath), ["-d", "-i", keyFile, stanza.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.count == 32)
        // That key decrypts the file's value.
        let (branches, _) = try format.loadEncrypted(file)
        var encrypted = ""
        for case .pair(let key, .string(let text)) in branches[0] where key == "token" || key == "TOKEN" || key == "data" {
            encrypted = text
        }
        let aad = format == .dotenv ? "TOKEN:" : format == .binary ? "data:" : "token:"
        #expect(SOPSCipher.decrypt(encrypted, key: result.stdout, aad: aad) == .string("abc"))
    }
}
