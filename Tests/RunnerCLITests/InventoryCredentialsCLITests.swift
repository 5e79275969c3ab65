import Foundation
import Testing

/// An inventory's `sudo_password` and `identity_passphrase` are needed only where a step uses
/// them, and may name values of a SOPS file of the inventory's own.
@Suite(.serialized) struct InventoryCredentialsCLITests {
    /// The age key pair of the age test vectors (Tests/RunnerSOPSTests/AgeTests.swift).
    static let secretKey = "AGE-SECRET-KEY-1E6GWQFKR7JZ8WWFYYTHHD7SU2U9V8VUY4ZHDJ2MAPGXQJ8DLDHPQ4GT6XC"
    static let recipient = "age1q0fg99ta7lqlke9pderwtpsv0ukpxa5mrm4u4f7uj0udh5hqz9msmhqr2t"
    static let sudoPassword = "inventory-sudo-pw-5150"

    /// A directory with `inventory.secrets.sops.yaml` (encrypted by runner's sops plugin for the
    /// test key) and the key file; `env` points SOPS at it.
    func withInventorySecrets() throws -> (CLI, [String: String]) {
        let cli = CLI()
        cli.write("keys.txt", Self.secretKey + "\n")
        cli.write("plain.yaml", "here_sudo: \(Self.sudoPassword)\n")
        cli.write("encrypt.yml", """
            steps:
              - uses: sops
                with: { encrypt: plain.yaml, dest: inventory.secrets.sops.yaml, recipients: [\(Self.recipient)] }
            """)
        let env = ["SOPS_AGE_KEY_FILE": cli.dir + "/keys.txt", "SOPS_AGE_KEY": "", "SOPS_AGE_SSH_PRIVATE_KEY_FILE": ""]
        let encrypted = try cli.run(["run", "encrypt.yml"], env: env)
        #expect(encrypted.status == 0, "\(encrypted.stdout)\(encrypted.stderr)")
        try FileManager.default.removeItem(atPath: cli.dir + "/plain.yaml")
        return (cli, env)
    }

    /// The case: a host with a sudo_password no pipeline declares still runs every
    /// step without sudo; validate accepts it.
    @Test func sudoPasswordIsNotNeededWithoutSudo() throws {
        let cli = CLI()
        cli.write("inventory.yml", "hosts:\n  here: { connection: local, sudo_password: undeclared_pw }\n")
        cli.write("p.yml", "steps:\n  - on: here\n    run: touch ran\n")
        let validate = try cli.run("validate", "p.yml")
        #expect(validate.status == 0, "\(validate.stderr)")
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(cli.read("ran") != nil)
    }

    /// A sudo step on the host needs it: validation names the host, the field, the secret and
    /// the step, at the field.
    @Test func sudoStepNeedsTheSecret() throws {
        let cli = CLI()
        cli.write("inventory.yml", "hosts:\n  here: { connection: local, sudo_password: undeclared_pw }\n")
        cli.write("p.yml", "steps:\n  - name: Root work\n    on: here\n    sudo: true\n    run: touch ran\n")
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 2)
        #expect(r.stderr.contains("inventory.yml:2:45: host 'here': sudo_password names the secret 'undeclared_pw', which the pipeline does not declare"),
                "\(r.stderr)")
        #expect(r.stderr.contains("step 'Root work' at "), "\(r.stderr)")
        #expect(cli.read("ran") == nil)
    }

    /// The inventory's own SOPS file gives the sudo password; the pipeline declares nothing.
    @Test func inventorySecretsFileGivesTheSudoPassword() throws {
        let (cli, env) = try withInventorySecrets()
        cli.write("inventory.yml", """
            secrets: { sops: inventory.secrets.sops.yaml }
            hosts:
              here: { connection: local, sudo_password: here_sudo }
            """)
        cli.write("p.yml", "steps:\n  - on: here\n    sudo: true\n    run: touch ran\n")
        let validate = try cli.run(["validate", "p.yml"], env: env)
        #expect(validate.status == 0, "\(validate.stderr)")
        let r = try cli.run(["run", "p.yml"], env: env)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(cli.read("ran") != nil)
        #expect(!(r.stdout + r.stderr).contains(Self.sudoPassword))
    }

    /// A name the inventory's file does not hold stops the run before its first step (exit 2),
    /// naming the host, the field, the secret and where runner looked.
    @Test func nameMissingFromInventorySecretsStopsBeforeTheFirstStep() throws {
        let (cli, env) = try withInventorySecrets()
        cli.write("inventory.yml", """
            secrets: { sops: inventory.secrets.sops.yaml }
            hosts:
              here: { connection: local, sudo_password: here_sudoo }
            """)
        cli.write("p.yml", "steps:\n  - run: touch first\n  - on: here\n    sudo: true\n    run: touch ran\n")
        let r = try cli.run(["run", "p.yml"], env: env)
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("error: host 'here': sudo_password names the secret 'here_sudoo', which is neither in the pipeline's secrets:"),
                "\(r.stderr)")
        #expect(r.stderr.contains("inventory.secrets.sops.yaml"), "\(r.stderr)")
        #expect(cli.read("first") == nil)
        #expect(!(r.stdout + r.stderr).contains(Self.sudoPassword))

        // Without sudo the file is never decrypted: no key needed.
        cli.write("q.yml", "steps:\n  - on: here\n    run: touch ran\n")
        let plain = try cli.run(["run", "q.yml"], env: ["SOPS_AGE_KEY_FILE": cli.dir + "/no-such-keys.txt"])
        #expect(plain.status == 0, "\(plain.stdout)\(plain.stderr)")
    }

    @Test func missingInventorySecretsFileIsAValidationError() throws {
        let cli = CLI()
        cli.write("inventory.yml", "secrets: { sops: nope.sops.yaml }\nhosts:\n  here: { connection: local }\n")
        cli.write("p.yml", "steps:\n  - on: here\n    run: true\n")
        let r = try cli.run("validate", "p.yml")
        #expect(r.status == 2)
        #expect(r.stderr.contains("inventory.yml:1:18: secrets: no such SOPS file"), "\(r.stderr)")
    }

    /// A pipeline's host is merged field by field over the inventory's: labels it sets win,
    /// the rest (here: the connection and the other labels) come from the inventory.
    @Test func pipelineHostMergesOverTheInventorys() throws {
        let cli = CLI()
        cli.write("inventory.yml", "hosts:\n  here: { connection: local, labels: { a: from-inventory, b: kept } }\n")
        cli.write("p.yml", """
            hosts:
              here: { labels: { a: from-pipeline } }
            steps:
              - on: here
                env: { A: "${{ host.labels.a }}", B: "${{ host.labels.b }}" }
                run: echo "$A $B" > labels
            """)
        let r = try cli.run("run", "p.yml")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(cli.read("labels") == "from-pipeline kept\n")
    }
}
