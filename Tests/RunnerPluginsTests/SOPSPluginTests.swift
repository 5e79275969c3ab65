import Foundation
import RunnerCore
import RunnerSOPS
import RunnerTestSupport
import Testing

/// `<repo>/../shared/fixtures`, which CI has beside the clone; never copied into the repo.
private let sharedFixtures: String = {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return repo.appendingPathComponent("../shared/fixtures/sops").standardizedFileURL.path
}()
private let fixturesExist = FileManager.default.fileExists(atPath: sharedFixtures + "/manifest.json")

/// A fresh age identity in a key file, its recipient, and a plaintext dotenv to encrypt.
private struct Keys {
    let directory: String
    let keyFile: String
    let recipient: String

    init() throws {
        directory = try makeTemporaryDirectory("runner-sops-plugin")
        let identity = AgeIdentity.generate()
        keyFile = directory + "/keys.txt"
        try "# test key\n\(identity.secretKeyString() ?? "")\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        recipient = identity.recipient?.description ?? ""
    }
}

@Suite("sops plugin")
struct SOPSPluginTests {
    @Test(.enabled(if: fixturesExist, "../shared/fixtures/sops not found beside the clone"))
    func decryptsARealSopsFileToTheBytesSopsPrints() async throws {
        let work = try makeTemporaryDirectory("runner-sops-decrypt")
        let source = sharedFixtures + "/flux-kustomize-controller/envs-env.env"
        let expected = try Data(contentsOf: URL(fileURLWithPath: sharedFixtures + "/expected/flux-kustomize-controller/envs-env.env"))
        let step = "{ id: dec, uses: sops, with: { decrypt: \(source), dest: \(work)/.env, format: dotenv, key_file: \(sharedFixtures)/keys/flux-age.txt } }"
        let (outcome, log) = try await runOverSSH("steps:\n  - \(step)\n  - \(step.replacingOccurrences(of: "id: dec", with: "id: again"))\n", inventory: "hosts: {}\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: work + "/.env")) == expected)
        let mode = try FileManager.default.attributesOfItem(atPath: work + "/.env")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(log.status("dec") == .changed)
        #expect(log.status("again") == .ok)
    }

    @Test(.enabled(if: fixturesExist, "../shared/fixtures/sops not found beside the clone"))
    func tamperedFileIsRefusedAndNothingIsWritten() async throws {
        let work = try makeTemporaryDirectory("runner-sops-tamper")
        let (outcome, log) = try await runOverSSH("""
            steps:
              - { id: dec, uses: sops, with: { decrypt: \(sharedFixtures)/negative/swapped-lines.env, dest: \(work)/.env, format: dotenv, key_file: \(sharedFixtures)/keys/sops-age-ts-key.txt } }
            """, inventory: "hosts: {}\n")
        #expect(outcome.status == .failed)
        #expect(log.error("dec")?.contains("MAC mismatch") == true, "\(log.finished)")
        #expect(!FileManager.default.fileExists(atPath: work + "/.env"))
    }

    @Test func encryptThenLoadAsMaskedSecrets() async throws {
        let keys = try Keys()
        let token = "tok-\(UInt64.random(in: 0...UInt64.max))"
        try "API_TOKEN=\(token)\nREGION=eu-central\n".write(toFile: keys.directory + "/app.env", atomically: true, encoding: .utf8)
        let (encrypted, encryptLog) = try await runOverSSH("""
            steps:
              - { uses: sops, with: { encrypt: \(keys.directory)/app.env, dest: \(keys.directory)/app.env.sops, recipients: ["\(keys.recipient)"] } }
            """, inventory: "hosts: {}\n")
        #expect(encrypted.status == .succeeded, "\(encryptLog.transcript)")
        let file = try String(contentsOfFile: keys.directory + "/app.env.sops", encoding: .utf8)
        #expect(!file.contains(token))
        #expect(file.contains("sops_age__list_0__map_recipient=\(keys.recipient)"))

        let (outcome, log) = try await runOverSSH("""
            secrets:
              - { sops: \(keys.directory)/app.env.sops, key_file: \(keys.keyFile) }
            steps:
              - run: echo "token=${{ secrets.API_TOKEN }} region=${{ secrets.REGION }}"
            """, inventory: "hosts: {}\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.transcript.contains("token=*** region=***"), "\(log.transcript)")
        #expect(!log.transcript.contains(token))
    }

    @Test func encryptFollowsTheCreationRuleOfSopsYaml() async throws {
        let keys = try Keys()
        try """
            creation_rules:
              - path_regex: \\.env\\.sops$
                age: \(keys.recipient)
                encrypted_regex: ^(DB_PASSWORD)$
            """.write(toFile: keys.directory + "/.sops.yaml", atomically: true, encoding: .utf8)
        try "DB_PASSWORD=pg-secret-118\nDB_HOST=db.internal\n".write(toFile: keys.directory + "/plain.env", atomically: true, encoding: .utf8)
        let (outcome, log) = try await runOverSSH("""
            steps:
              - { uses: sops, with: { encrypt: \(keys.directory)/plain.env, dest: \(keys.directory)/app.env.sops, config: \(keys.directory)/.sops.yaml } }
              - { uses: sops, with: { decrypt: \(keys.directory)/app.env.sops, dest: \(keys.directory)/back.env, key_file: \(keys.keyFile) } }
            """, inventory: "hosts: {}\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        let encrypted = try String(contentsOfFile: keys.directory + "/app.env.sops", encoding: .utf8)
        #expect(encrypted.contains("DB_HOST=db.internal"))  // outside encrypted_regex: stays readable
        #expect(!encrypted.contains("pg-secret-118"))
        #expect(encrypted.contains("DB_PASSWORD=ENC[AES256_GCM,"))
        #expect(try String(contentsOfFile: keys.directory + "/back.env", encoding: .utf8) == "DB_PASSWORD=pg-secret-118\nDB_HOST=db.internal\n")
    }

    @Test func missingKeyFailsWithoutShowingValues() async throws {
        let keys = try Keys()
        let other = try Keys()
        try "PASSWORD=hunter2-\(UInt32.random(in: 0...UInt32.max))\n".write(toFile: keys.directory + "/db.env", atomically: true, encoding: .utf8)
        _ = try await runOverSSH("""
            steps:
              - { uses: sops, with: { encrypt: \(keys.directory)/db.env, dest: \(keys.directory)/db.env.sops, recipients: ["\(keys.recipient)"] } }
            """, inventory: "hosts: {}\n")
        let (outcome, log) = try await runOverSSH("""
            steps:
              - { id: dec, uses: sops, with: { decrypt: \(keys.directory)/db.env.sops, dest: \(keys.directory)/out.env, key_file: \(other.keyFile) } }
            """, inventory: "hosts: {}\n")
        #expect(outcome.status == .failed)
        #expect(log.error("dec")?.contains("sops:") == true, "\(log.finished)")
        #expect(!log.transcript.contains("hunter2"))
        #expect(!FileManager.default.fileExists(atPath: keys.directory + "/out.env"))
    }

    @Test func decryptOnAnSSHHost() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let keys = try Keys()
        chmod(keys.directory, 0o1777)
        try "SECRET=over-ssh\n".write(toFile: keys.directory + "/app.env", atomically: true, encoding: .utf8)
        let (outcome, log) = try await runOverSSH("""
            steps:
              - { uses: sops, with: { encrypt: \(keys.directory)/app.env, dest: \(keys.directory)/app.env.sops, recipients: ["\(keys.recipient)"] } }
              - { id: remote, on: web, uses: sops, with: { decrypt: \(keys.directory)/app.env.sops, dest: \(keys.directory)/remote.env, key_file: \(keys.keyFile) } }
              - { on: web, run: "stat -c '%a %U' \(keys.directory)/remote.env" }
            """, inventory: "hosts:\n  web: \(try server.inventoryEntry())\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(try String(contentsOfFile: keys.directory + "/remote.env", encoding: .utf8) == "SECRET=over-ssh\n")
        #expect(log.output(on: "web") == ["600 \(SSHServer.user)"])
    }
}
