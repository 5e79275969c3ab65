import Foundation
import Testing

/// `runner init` writes files to start from that validate and run as written, and never
/// overwrites; shell completion works as docs/cli.md says.
@Suite(.serialized) struct InitCLITests {
    static let secretKey = InventoryCredentialsCLITests.secretKey
    static let recipient = InventoryCredentialsCLITests.recipient

    /// No age key anywhere sops looks (SOPS_AGE_KEY*, XDG_CONFIG_HOME) unless a test puts one.
    func environment(_ cli: CLI, key: Bool) -> [String: String] {
        if key { cli.write("config/sops/age/keys.txt", Self.secretKey + "\n") }
        return ["XDG_CONFIG_HOME": cli.dir + "/config", "SOPS_AGE_KEY": "", "SOPS_AGE_KEY_FILE": "", "SOPS_AGE_SSH_PRIVATE_KEY_FILE": ""]
    }

    @Test func initWritesFilesThatValidateAndRun() throws {
        let cli = CLI()
        let env = environment(cli, key: true)
        let r = try cli.run(["init", "proj"], env: env)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        for file in ["proj/pipelines/hello.yml", "proj/pipelines/inventory.yml", "proj/.sops.yaml"] {
            #expect(cli.read(file) != nil, "\(file) missing")
            #expect(r.stdout.contains("wrote proj/\(file.dropFirst(5))"), "\(r.stdout)")
        }
        #expect(cli.read("proj/.sops.yaml")?.contains("  - age: \(Self.recipient)\n") == true, "\(cli.read("proj/.sops.yaml") ?? "")")

        let validate = try cli.run("validate", "proj/pipelines")
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
        let run = try cli.run("run", "proj/pipelines/hello.yml", "who=you")
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("hello, you from "), "\(run.stdout)")
        #expect(run.stdout.contains("working in /tmp"), "\(run.stdout)")

        // The .sops.yaml is the one `uses: sops` encrypts with.
        cli.write("proj/pipelines/plain.env", "A=1\n")
        let dir = cli.dir + "/proj/pipelines"
        cli.write("proj/pipelines/enc.yml", "steps:\n  - uses: sops\n    with: { encrypt: \(dir)/plain.env, dest: \(dir)/out.env.sops }\n")
        let encrypt = try cli.run(["run", "proj/pipelines/enc.yml"], env: env)
        #expect(encrypt.status == 0, "\(encrypt.stdout)\(encrypt.stderr)")
        #expect(cli.read("proj/pipelines/out.env.sops")?.contains(Self.recipient) == true)
    }

    @Test func initRefusesToOverwrite() throws {
        let cli = CLI()
        cli.write("pipelines/inventory.yml", "hosts: {}\n")
        let r = try cli.run(["init"], env: environment(cli, key: false))
        #expect(r.status == 2)
        #expect(r.stderr.contains("pipelines/inventory.yml already exists: nothing written"), "\(r.stderr)")
        #expect(cli.read("pipelines/inventory.yml") == "hosts: {}\n")
        #expect(cli.read("pipelines/hello.yml") == nil)
        #expect(cli.read(".sops.yaml") == nil)
    }

    /// Without an age key, .sops.yaml says how to make one, and is still a valid SOPS config.
    @Test func initWithoutAnAgeKey() throws {
        let cli = CLI()
        let r = try cli.run(["init"], env: environment(cli, key: false))
        #expect(r.status == 0, "\(r.stderr)")
        let config = cli.read(".sops.yaml") ?? ""
        #expect(config.contains("age-keygen -o ~/.config/sops/age/keys.txt"), "\(config)")
        #expect(config.contains("creation_rules: []"), "\(config)")
    }

    @Test func bashCompletionListsCommands() throws {
        let cli = CLI()
        let r = try cli.run("--generate-completion-script", "bash")
        #expect(r.status == 0, "\(r.stderr)")
        for command in ["run", "validate", "plan", "init"] { #expect(r.stdout.contains(command)) }
        #expect(r.stdout.contains("complete "), "\(r.stdout.prefix(300))")
    }
}
