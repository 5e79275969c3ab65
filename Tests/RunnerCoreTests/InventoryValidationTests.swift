import Foundation
import RunnerCore
import Testing

/// Inventory mistakes that would otherwise be read as something else (no hosts, the host
/// instead of the group, an empty address) are refused at file:line:column when the pipeline
/// is loaded with that inventory.
@Suite struct InventoryValidationTests {
    static let steps = "steps:\n  - run: true\n"

    /// Diagnostics of loading `pipeline` as p.yml with `inventory` as inventory.yml beside it.
    func diagnostics(pipeline: String = steps, inventory: String) -> [Diagnostic] {
        let dir = TempDir()
        dir.write("inventory.yml", inventory)
        return Harness.diagnostics(pipeline, in: dir)
    }

    func only(_ all: [Diagnostic], sourceLocation: Testing.SourceLocation = #_sourceLocation) -> Diagnostic? {
        #expect(all.count == 1, "expected one problem, got: \(all.map(\.description))", sourceLocation: sourceLocation)
        return all.first
    }

    func expect(_ d: Diagnostic?, file: String = "inventory.yml", line: Int, column: Int, contains text: String,
                sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        #expect(d?.location?.file.hasSuffix("/" + file) == true, "file of \(d?.description ?? "nil")", sourceLocation: sourceLocation)
        #expect(d?.location?.line == line, "line of \(d?.description ?? "nil")", sourceLocation: sourceLocation)
        #expect(d?.location?.column == column, "column of \(d?.description ?? "nil")", sourceLocation: sourceLocation)
        #expect(d?.message.contains(text) == true, "'\(d?.message ?? "nil")' should contain '\(text)'", sourceLocation: sourceLocation)
    }

    @Test func aValidInventoryLoads() {
        let inventory = """
            hosts:
              hornbill: { address: 100.67.57.25, user: stefan, port: 2222, labels: { role: apps } }
              toucan: { address: toucan.example.net, user: www-data }
              v6: { address: "fe80::1%eth0", user: svc.backup_1 }
              db-1.internal: {}
              here: { connection: local }
              local: { connection: local }
            groups:
              apps: [hornbill, toucan]
            """
        #expect(diagnostics(pipeline: "steps:\n  - run: true\n    on: apps\n", inventory: inventory).isEmpty)
    }

    @Test("a top-level list or scalar is not an inventory", arguments: ["- hornbill\n- toucan\n", "hornbill\n"])
    func topLevelMustBeAMap(inventory: String) {
        expect(only(diagnostics(inventory: inventory)), line: 1, column: 1, contains: "the inventory must be a map with 'hosts:' and 'groups:'")
    }

    @Test func aHostSpecMustNotBeAList() {
        expect(only(diagnostics(inventory: "hosts:\n  web: [10.0.0.1]\n")), line: 2, column: 8, contains: "host 'web' must be an address or a map")
    }

    @Test func groupWithTheNameOfAHost() {
        let inventory = "hosts:\n  web: { address: 10.0.0.1 }\n  db: { address: 10.0.0.2 }\ngroups:\n  web: [web, db]\n"
        let d = only(diagnostics(inventory: inventory))
        expect(d, line: 5, column: 3, contains: "group 'web' has the name of a host")
        #expect(d?.message.contains("inventory.yml:2:3") == true)
    }

    /// The pipeline's own hosts and the inventory file are one namespace.
    @Test func inlineGroupWithTheNameOfAnInventoryHost() {
        let d = only(diagnostics(pipeline: "groups:\n  web: [web]\n" + Self.steps, inventory: "hosts:\n  web: { address: 10.0.0.1 }\n"))
        expect(d, file: "p.yml", line: 2, column: 3, contains: "group 'web' has the name of a host")
    }

    @Test func groupMemberThatIsNoHostIsReportedWhereItIsWritten() {
        let d = only(diagnostics(inventory: "hosts:\n  hornbill: {}\ngroups:\n  apps:\n    - hornbill\n    - hornbil\n"))
        expect(d, line: 6, column: 7, contains: "group 'apps' names unknown host 'hornbil' (did you mean 'hornbill'?)")
    }

    @Test func hostNamedLocalMustBeLocal() {
        expect(only(diagnostics(inventory: "hosts:\n  local: { address: 10.0.0.1 }\n")), line: 2, column: 3,
               contains: "'on: local' always means this machine")
        expect(only(diagnostics(inventory: "hosts:\n  a: {}\ngroups:\n  local: [a]\n")), line: 4, column: 3,
               contains: "a group cannot be named 'local'")
    }

    @Test("an empty or malformed address or name", arguments: [
        ("hosts:\n  web: { address: \"\" }\n", 2, 19, "address must not be empty"),
        ("hosts:\n  web: { address: '' }\n", 2, 19, "address must not be empty"),
        ("hosts:\n  web: ''\n", 2, 8, "address must not be empty"),
        ("hosts:\n  web: { address: \"10.0.0.1; touch x\" }\n", 2, 19, "'10.0.0.1; touch x' is not a host name or IP address"),
        ("hosts:\n  web: { address: -oProxyCommand=x }\n", 2, 19, "'-oProxyCommand=x' is not a host name or IP address"),
        ("hosts:\n  web@home: {}\n", 2, 3, "'web@home' is not a host name or IP address (letters, digits, '.', '-', '_', ':' and '%') (no 'address', so the host's name is used)"),
        // Host and group names: not empty, no spaces, control characters or commas.
        ("hosts:\n  \"\": { address: 10.0.0.1 }\n", 2, 3, "a host name must not be empty"),
        ("hosts:\n  \"web 1\": { address: 10.0.0.1 }\n", 2, 3, "host name 'web 1' must not contain spaces"),
        ("hosts:\n  \"a,b\": { address: 10.0.0.1 }\n", 2, 3, "host name 'a,b' must not contain ','"),
        ("hosts:\n  a: {}\ngroups:\n  \"my\\tgroup\": [a]\n", 4, 3, "group name 'my\tgroup' must not contain U+9"),
        // Without an address the name is the address: one problem, reported once.
        ("hosts:\n  \"web 1\": {}\n", 2, 3, "host name 'web 1' must not contain spaces"),
    ])
    func badAddressOrName(inventory: String, line: Int, column: Int, message: String) {
        expect(only(diagnostics(inventory: inventory)), line: line, column: column, contains: message)
    }

    @Test("a user that no Unix user name is", arguments: ["deploy;id", "a b", "-oProxyCommand=x", "", "$(id)", "stefan@corp", String(repeating: "u", count: 33)])
    func badUser(user: String) {
        let d = only(diagnostics(inventory: "hosts:\n  web: { address: 10.0.0.1, user: \"\(user)\" }\n"))
        expect(d, line: 2, column: 35, contains: "host 'web': user '\(user)' is not a user name (1 to 32 ASCII letters, digits, '_', '.' or '-', not starting with '-')")
    }

    @Test("empty file paths", arguments: ["identity", "known_hosts", "ssh_config"])
    func emptyPaths(key: String) {
        expect(only(diagnostics(inventory: "hosts:\n  web: { \(key): \"\" }\n")), line: 2, column: 12 + key.count, contains: "'\(key)' must be a file path, not empty")
    }

    // MARK: Credentials name secrets of the pipeline, where a step needs them

    /// A step on `web` with sudo: it needs web's sudo_password (and its identity_passphrase).
    static let sudoSteps = "steps:\n  - on: web\n    sudo: true\n    run: true\n"

    @Test func sudoPasswordNamingNoSecretOfThePipeline() {
        let inventory = "hosts:\n  web:\n    address: 10.0.0.1\n    sudo_password: sudo_pw\n"
        let d = only(diagnostics(pipeline: "params:\n  sudo_pass: { secret: true }\n" + Self.sudoSteps, inventory: inventory))
        expect(d, line: 4, column: 20, contains: "host 'web': sudo_password names the secret 'sudo_pw', which the pipeline does not declare")
        #expect(d?.message.contains("step 'true' at ") == true, "\(d?.message ?? "")")
        #expect(d?.message.contains("runs with sudo: true on it") == true, "\(d?.message ?? "")")
        #expect(d?.message.contains("did you mean 'sudo_pass'?") == true)
    }

    @Test func identityPassphraseNamingNoSecretOfThePipeline() {
        let d = only(diagnostics(pipeline: "steps:\n  - on: web\n    run: true\n",
                                 inventory: "hosts:\n  web: { address: 10.0.0.1, identity_passphrase: key_pw }\n"))
        expect(d, line: 2, column: 50, contains: "identity_passphrase names the secret 'key_pw'")
        #expect(d?.message.contains("connects to it") == true, "\(d?.message ?? "")")
    }

    /// The issue's case: credentials no step needs are not required (no sudo step, no step on
    /// the host, a passphrase of a host reached without SSH).
    @Test("credentials no step needs", arguments: [
        "steps:\n  - on: web\n    run: true\n",
        "steps:\n  - run: true\n  - on: here\n    sudo: true\n    run: true\n",
        "steps:\n  - on: here\n    run: true\n",
    ])
    func unusedCredentials(pipeline: String) {
        let inventory = "hosts:\n  web: { address: 10.0.0.1, sudo_password: web_sudo }\n  other: { identity_passphrase: other_key }\n"
            + "  here: { connection: local, identity_passphrase: local_key }\n"
        #expect(diagnostics(pipeline: pipeline, inventory: inventory).isEmpty)
    }

    /// A group counts as its hosts; two steps needing the same credential make one problem.
    @Test func oneProblemPerHostAndField() {
        let inventory = "hosts:\n  web: { address: 10.0.0.1, sudo_password: web_sudo }\ngroups:\n  all: [web]\n"
        let d = only(diagnostics(pipeline: "steps:\n  - on: all\n    sudo: www-data\n    run: true\n  - on: [web]\n    sudo: true\n    run: true\n",
                                 inventory: inventory))
        expect(d, line: 2, column: 44, contains: "sudo_password names the secret 'web_sudo'")
        #expect(d?.message.contains("runs with sudo: www-data on it") == true, "\(d?.message ?? "")")
    }

    @Test func inlineHostCredentialsAreCheckedToo() {
        let d = only(Harness.diagnostics("hosts:\n  web: { address: 10.0.0.1, sudo_password: pw }\n" + Self.sudoSteps))
        #expect(d?.location == RunnerCore.SourceLocation(file: d?.location?.file ?? "", line: 2, column: 44))
        #expect(d?.location?.file.hasSuffix("p.yml") == true)
    }

    @Test("credentials that name a declared secret", arguments: [
        "params:\n  sudo_pw: { secret: true }\n",
        "secrets:\n  - env: RUNNER_TEST_SUDO\n    as: sudo_pw\n",
        "secrets:\n  - env: sudo_pw\n",
        // A SOPS file's names are known once it is decrypted: the run checks them before its first step.
        "secrets:\n  - sops: secrets.env.sops\n",
    ])
    func declaredSecret(header: String) {
        let inventory = "hosts:\n  web: { address: 10.0.0.1, sudo_password: sudo_pw, identity_passphrase: sudo_pw }\n"
        #expect(diagnostics(pipeline: header + Self.sudoSteps, inventory: inventory).isEmpty)
    }

    @Test func aParamThatIsNotSecretDoesNotCount() {
        let d = only(diagnostics(pipeline: "params:\n  sudo_pw: {}\n" + Self.sudoSteps, inventory: "hosts:\n  web: { sudo_password: sudo_pw }\n"))
        expect(d, line: 2, column: 25, contains: "sudo_password names the secret 'sudo_pw'")
    }

    // MARK: The inventory's own secrets

    @Test func inventorySecretsFileNamesAreLeftToTheRun() {
        let dir = TempDir()
        dir.write("inv.sops.yaml", "placeholder: true\n")
        dir.write("inventory.yml", "secrets: { sops: inv.sops.yaml }\nhosts:\n  web: { address: 10.0.0.1, sudo_password: web_sudo }\n")
        #expect(Harness.diagnostics(Self.sudoSteps, in: dir).isEmpty)
    }

    @Test func inventorySecretsNeedSops() {
        let all = diagnostics(inventory: "secrets: { key_file: k.txt, sopss: x }\nhosts:\n  web: {}\n")
        #expect(all.contains { $0.message.contains("unknown key 'sopss'") && $0.message.contains("did you mean 'sops'?") }, "\(all)")
        #expect(all.contains { $0.message.contains("the inventory's secrets need 'sops'") && $0.location?.line == 1 }, "\(all)")
    }

    // MARK: A pipeline's host over the inventory's

    /// Merged field by field: what the pipeline writes wins, the rest comes from the file,
    /// labels key by key; the address is checked after merging.
    @Test func pipelineHostIsMergedFieldByField() throws {
        let dir = TempDir()
        dir.write("inventory.yml", """
            hosts:
              hornbill: { address: 10.0.0.7, user: stefan, port: 2222, labels: { apps_root: /srv/apps, proxy_dir: /srv/proxy } }
            """)
        let path = dir.write("p.yml", "hosts:\n  hornbill: { user: deploy, labels: { apps_root: /tmp/apps } }\nsteps:\n  - on: hornbill\n    run: true\n")
        let host = try #require(try Harness.loader().load(path: path).inventory.hosts["hornbill"])
        #expect(host.address == "10.0.0.7")
        #expect(host.port == 2222)
        #expect(host.user == "deploy")
        #expect(host.labels == ["apps_root": "/tmp/apps", "proxy_dir": "/srv/proxy"])
        #expect(host.fieldLocations["user"]?.file.hasSuffix("p.yml") == true)
        #expect(host.fieldLocations["port"]?.file.hasSuffix("inventory.yml") == true)
    }

    // MARK: Environment variable names

    @Test("env keys must be variable names", arguments: ["A B", "1ST", "X-Y", "A=B", "É", ""])
    func envKeys(name: String) {
        let pipeline = Harness.diagnostics("env:\n  \"\(name)\": x\nsteps:\n  - run: true\n    env: { \"\(name)\": y }\n")
        #expect(pipeline.count == 2, "\(pipeline)")
        #expect(pipeline.first?.location?.line == 2 && pipeline.first?.location?.column == 3)
        #expect(pipeline.last?.location?.line == 5 && pipeline.last?.location?.column == 12)
        #expect(pipeline.allSatisfy { $0.message.contains("'\(name)' is not a valid environment variable name") })
    }

    @Test func validEnvKeys() {
        #expect(Harness.diagnostics("env:\n  _A: x\n  PATH2: y\nsteps:\n  - run: true\n    env: { lower_case: y }\n").isEmpty)
    }

    // MARK: Reading the file

    @Test func inventoryFileTooLargeIsRefusedBeforeReading() throws {
        let dir = TempDir()
        let path = dir.write("inventory.yml", "")
        // A sparse 9 MiB file: refused from its size, without reading it.
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 9 << 20)
        try handle.close()
        let d = only(Harness.diagnostics(Self.steps, in: dir))
        expect(d, line: 1, column: 1, contains: "file is too large (9437184 bytes; the limit is 8388608)")
    }

    @Test func aDeviceIsReadOnlyUpToTheLimit() {
        let loader = PipelineLoader(plugins: Harness.plugins, inventoryOverride: "/dev/zero")
        let dir = TempDir()
        do {
            _ = try loader.load(path: dir.write("p.yml", Self.steps))
            Issue.record("loaded /dev/zero as an inventory")
        } catch {
            let d = only(error.diagnostics)
            #expect(d?.description == "/dev/zero:1:1: cannot read '/dev/zero': larger than the limit of 8388608 bytes")
        }
    }
}
