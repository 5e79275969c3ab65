import Foundation
import Testing

@testable import RunnerSOPS

@Suite("age key sources (SOPS_AGE_KEY, key files, default location)")
struct AgeKeySourcesTests {
    private func write(_ identities: [AgeIdentity], to path: String) throws {
        let text = identities.map { "# public key: \($0.recipient!)\n\($0.secretKeyString()!)\n" }.joined()
        try FileManager.default.createDirectory(atPath: Paths.directory(path), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    private enum Paths {
        static func directory(_ path: String) -> String { (path as NSString).deletingLastPathComponent }
    }

    @Test func everySourceContributesInOrder() throws {
        let directory = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let env = AgeIdentity.generate()
        let envFile = AgeIdentity.generate()
        let explicit = AgeIdentity.generate()
        let xdg = AgeIdentity.generate()
        try write([envFile], to: directory.path + "/env-keys.txt")
        try write([explicit], to: directory.path + "/explicit.txt")
        try write([xdg], to: directory.path + "/xdg/sops/age/keys.txt")
        let sources = AgeKeySources(
            environment: [
                "SOPS_AGE_KEY": "  \(env.secretKeyString()!)\n",
                "SOPS_AGE_KEY_FILE": directory.path + "/env-keys.txt",
                "XDG_CONFIG_HOME": directory.path + "/xdg",
                "HOME": directory.path + "/home",
            ],
            keyFile: directory.path + "/explicit.txt")
        #expect(sources.defaultKeyFile == directory.path + "/xdg/sops/age/keys.txt")
        let loaded = try sources.loadIdentities().map(\.recipient)
        #expect(loaded == [env, envFile, explicit, xdg].map(\.recipient))
    }

    @Test func homeDefaultWithoutXDG() throws {
        let directory = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let identity = AgeIdentity.generate()
        #if os(macOS)
        let path = directory.path + "/Library/Application Support/sops/age/keys.txt"
        #else
        let path = directory.path + "/.config/sops/age/keys.txt"
        #endif
        try write([identity], to: path)
        let sources = AgeKeySources(environment: ["HOME": directory.path])
        #expect(sources.defaultKeyFile == path)
        #expect(try sources.loadIdentities().map(\.recipient) == [identity.recipient])
    }

    @Test func missingOptionalFilesAreSkippedButNothingAtAllIsAnError() throws {
        let directory = try Tool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let sources = AgeKeySources(environment: ["HOME": directory.path, "SOPS_AGE_KEY_FILE": directory.path + "/nope.txt"])
        let error = #expect(throws: SOPSError.self) { try sources.loadIdentities() }
        #expect(error?.code == .noMatchingIdentity)
        #expect(error?.message.contains("nope.txt") == true)
        #expect(error?.message.contains(".config/sops/age/keys.txt") == true || error?.message.contains("Application Support") == true)
        // It says what to do: where a key file is named, and how to make one.
        #expect(error?.message.contains("SOPS_AGE_KEY_FILE") == true)
        #expect(error?.message.contains("`age-keygen -o \(sources.defaultKeyFile ?? "")`") == true, "\(error?.message ?? "")")
    }

    @Test func anExplicitKeyFileMustExist() throws {
        let error = #expect(throws: SOPSError.self) {
            try AgeKeySources(environment: [:], keyFile: "/nonexistent/keys.txt").loadIdentities()
        }
        #expect(error?.code == .unreadableKeyFile)
    }

    @Test func malformedKeysNameTheSourceButNotTheKey() throws {
        let bad = "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ"
        let error = #expect(throws: SOPSError.self) { try AgeKeySources(environment: ["SOPS_AGE_KEY": bad]).loadIdentities() }
        #expect(error?.message.hasPrefix("SOPS_AGE_KEY, line 1:") == true)
        #expect(error.map { !$0.message.contains(bad) } ?? true)
    }

    @Test func sshKeyFromEnvironment() throws {
        guard fixturesExist else { return }
        let sources = AgeKeySources(environment: ["SOPS_AGE_SSH_PRIVATE_KEY_FILE": Fixtures.url("sops/keys/sops-nix-ssh-ed25519-key").path])
        let identities = try sources.loadIdentities()
        #expect(identities.first?.recipient == (try AgeRecipient(try Fixtures.text("sops/keys/sops-nix-ssh-ed25519-key.pub"))))
    }
}
