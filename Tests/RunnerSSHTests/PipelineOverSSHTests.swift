import Foundation
import RunnerCore
import RunnerLua
import RunnerSSH
import Synchronization
import RunnerTestSupport
import Testing

@Suite("Pipelines over SSH", .serialized)
struct PipelineOverSSHTests {
    @Test func eightHostsRunInParallelWithTheirOwnOutput() async throws {
        let servers = try SSHServer.start(count: 8)
        defer { servers.forEach { $0.stop() } }
        let shared = try sharedDirectory()
        var inventory = "hosts:\n"
        for (index, server) in servers.enumerated() { inventory += "  h\(index + 1): \(try server.inventoryEntry())\n" }
        inventory += "groups:\n  all: [\(servers.indices.map { "h\($0 + 1)" }.joined(separator: ", "))]\n"
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            steps:
              - name: meet
                on: all
                run: |
                  \(barrier(shared, count: 8, name: "${{ host.name }}"))
                  echo "port ${SSH_CONNECTION##* }"
            """, inventory: inventory)
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        for (index, server) in servers.enumerated() {
            #expect(log.status("meet@h\(index + 1)") == .ok)
            #expect(log.output(on: "h\(index + 1)") == ["port \(server.port)"])
        }
    }

    @Test func parallelStepsOnOneHostUseSeveralSessions() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let shared = try sharedDirectory()
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            steps:
              - parallel:
                  - { name: a, on: web, run: "\(barrier(shared, count: 3, name: "a"))" }
                  - { name: b, on: web, run: "\(barrier(shared, count: 3, name: "b"))" }
                  - { name: c, on: web, run: "\(barrier(shared, count: 3, name: "c"))" }
              - { name: after, on: web, run: "echo done" }
            """, inventory: "hosts:\n  web: \(try server.inventoryEntry())\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.output(on: "web").last == "done")
    }

    @Test func serverKilledMidCommandFailsTheStepAndFinallyRuns() async throws {
        let server = try SSHServer.start()
        let shared = try sharedDirectory()
        let local = try makeTemporaryDirectory("runner-ssh-finally")
        let run = Task {
            try await runOverSSH("""
                inventory: inventory.yml
                steps:
                  - { name: long, on: web, run: "touch \(shared)/started; sleep 30; echo unreachable" }
                finally:
                  - { name: cleanup, run: "echo cleaned > \(local)/finally" }
                """, inventory: "hosts:\n  web: \(try server.inventoryEntry("connect_timeout: 3s"))\n")
        }
        try await waitForFile("\(shared)/started")
        server.crash()
        let (outcome, log) = try await run.value
        #expect(outcome.status == .failed)
        #expect(log.status("long@web") == .failed)
        #expect(log.error("long@web")?.contains("connection lost") == true, "\(log.transcript)")
        #expect(log.status("cleanup") == .ok)
        #expect(try String(contentsOfFile: "\(local)/finally", encoding: .utf8) == "cleaned\n")
    }

    @Test func droppedConnectionIsReplacedBeforeTheNextStep() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let shared = try sharedDirectory()
        let run = Task {
            try await runOverSSH("""
                inventory: inventory.yml
                steps:
                  - { name: first, on: web, run: "echo one" }
                  - { name: pause, run: "touch \(shared)/paused; while [ ! -e \(shared)/restarted ]; do sleep 0.05; done" }
                  - { name: second, on: web, run: "echo two" }
                """, inventory: "hosts:\n  web: \(try server.inventoryEntry())\n")
        }
        try await waitForFile("\(shared)/paused")
        server.crash()
        try server.restart(newHostKey: false)
        FileManager.default.createFile(atPath: "\(shared)/restarted", contents: nil)
        let (outcome, log) = try await run.value
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.output(on: "web") == ["one", "two"], "\(log.finished)")
    }

    @Test func unreachableHostFailsWithAClearError() async throws {
        let server = try SSHServer.start()
        let entry = try server.inventoryEntry()
        server.stop()
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            steps:
              - { name: hello, on: web, run: "echo hi" }
            """, inventory: "hosts:\n  web: \(entry)\n")
        #expect(outcome.status == .failed)
        #expect(log.error("hello@web")?.contains("ssh_connect to 127.0.0.1:\(server.port)") == true, "\(log.transcript)")
        #expect(log.error("hello@web")?.contains("Connection refused") == true)
    }

    @Test func sudoWithPasswordFromASecretNeverShowsIt() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        // A secret param (tests must not setenv: other tests spawn processes meanwhile).
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            params:
              sudo_pw: { required: true, secret: true }
            steps:
              - { name: root, on: web, sudo: true, run: "id -un; echo \\"$GREETING\\"; cat", env: { GREETING: "it's me" } }
              - { name: nobody, on: web, sudo: nobody, run: "id -un; cat" }
              - { name: plain, on: web, run: "id -un" }
            """, inventory: "hosts:\n  web: \(try server.inventoryEntry("sudo_password: sudo_pw"))\n",
            params: ["sudo_pw": .string(SSHServer.sudoPassword)])
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        // `cat` shows the command's stdin is empty: the password line went to sudo only.
        #expect(log.output(on: "web") == ["root", "it's me", "nobody", SSHServer.user])
        #expect(!log.transcript.contains(SSHServer.sudoPassword))
    }

    @Test func sudoWithoutAPasswordFailsClearly() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            steps:
              - { name: root, on: web, sudo: true, run: "id -un" }
            """, inventory: "hosts:\n  web: \(try server.inventoryEntry())\n")
        #expect(outcome.status == .failed)
        let error = log.error("root@web") ?? ""
        #expect(error.contains("password is required"), "\(log.transcript)")
        // The message says what to do: the inventory field that gives the host a sudo password.
        #expect(error.contains("set `sudo_password` on the host in the inventory"), "\(error)")
    }

    @Test func wrongSudoPasswordFailsWithoutShowingIt() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            params:
              sudo_pw: { required: true, secret: true }
            steps:
              - { name: root, on: web, sudo: true, run: "id -un" }
            """, inventory: "hosts:\n  web: \(try server.inventoryEntry("sudo_password: sudo_pw"))\n",
            params: ["sudo_pw": .string("not-the-password-91b2")])
        #expect(outcome.status == .failed)
        #expect(log.output(on: "web").contains("root") == false)
        #expect(log.error("root@web")?.contains("rejected the password from the host's `sudo_password` secret") == true, "\(log.transcript)")
        #expect(!log.transcript.contains("not-the-password-91b2"))
    }

    @Test func encryptedIdentityWithPassphraseFromASecret() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let key = "\(server.directory)/protected_key"
        let passphrase = "pass-\(UInt32.random(in: 0...UInt32.max))"
        try SSHServer.run("/usr/bin/ssh-keygen", ["-q", "-t", "ecdsa", "-N", passphrase, "-f", key])
        let authorized = try FileHandle(forWritingTo: URL(fileURLWithPath: SSHServer.authorizedKeys))
        authorized.seekToEndOfFile()
        authorized.write(try Data(contentsOf: URL(fileURLWithPath: key + ".pub")))
        try authorized.close()
        let entry = "{ address: 127.0.0.1, port: \(server.port), user: \(SSHServer.user), identity: \(key), known_hosts: \(try server.writeKnownHosts()), ssh_config: /dev/null, identity_passphrase: key_pw }"
        let pipeline = """
            inventory: inventory.yml
            params:
              key_pw: { default: "", secret: true }
            steps:
              - { name: hello, on: web, run: "echo in" }
            """
        let (outcome, log) = try await runOverSSH(pipeline, inventory: "hosts:\n  web: \(entry)\n", params: ["key_pw": .string(passphrase)])
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.output(on: "web") == ["in"])

        // Without the passphrase: a clear error naming the key and the missing setting.
        let (failed, failedLog) = try await runOverSSH(pipeline, inventory: "hosts:\n  web: \(entry.replacingOccurrences(of: ", identity_passphrase: key_pw", with: ""))\n")
        #expect(failed.status == .failed)
        #expect(failedLog.error("hello@web")?.contains("passphrase is missing") == true, "\(failedLog.transcript)")
    }

    @Test func sshConfigAliasThroughAJumpHost() async throws {
        let jump = try SSHServer.start()
        let target = try SSHServer.start()
        defer { jump.stop(); target.stop() }
        let config = try proxiedConfig(jump: jump, target: target)
        let jumpLogBefore = jump.log().components(separatedBy: "Accepted publickey").count
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            steps:
              - { name: where, on: app, run: "echo ${SSH_CONNECTION##* }" }
            """, inventory: "hosts:\n  app: { address: app-server, ssh_config: \(config) }\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.output(on: "app") == ["\(target.port)"])
        #expect(jump.log().components(separatedBy: "Accepted publickey").count == jumpLogBefore + 1)
    }
}

@Suite("ssh plugin over SSH", .serialized)
struct SSHPluginTests {
    @Test func uploadDownloadAndScript() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let local = try makeTemporaryDirectory("runner-ssh-plugin")
        let remote = try makeTemporaryDirectory("runner-ssh-remote")
        chmod(remote, 0o1777)
        try "#!/bin/sh\nprintf '%s|' \"$@\"; id -un\n".write(toFile: "\(local)/hello.sh", atomically: true, encoding: .utf8)
        try "from a file\n".write(toFile: "\(local)/conf.txt", atomically: true, encoding: .utf8)
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            steps:
              - { id: first, on: web, uses: ssh, with: { upload: \(remote)/inline.conf, content: "key=value\\n", mode: "0600" } }
              - { id: again, on: web, uses: ssh, with: { upload: \(remote)/inline.conf, content: "key=value\\n", mode: "0600" } }
              - { id: file, on: web, uses: ssh, sudo: true, with: { upload: \(remote)/owned.conf, src: \(local)/conf.txt, owner: "nobody:nogroup" } }
              - { id: back, on: web, uses: ssh, with: { download: \(remote)/inline.conf, dest: \(local)/fetched.conf } }
              - { id: script, on: web, uses: ssh, with: { script: \(local)/hello.sh, args: ["a b", "$HOME", "it's"] } }
              - { on: web, run: "stat -c '%a %U' \(remote)/inline.conf \(remote)/owned.conf" }
            """, inventory: "hosts:\n  web: \(try server.inventoryEntry("sudo_password: pw"))\n  local: { connection: local }\n",
            params: [:], extraParams: "  pw: { default: \(SSHServer.sudoPassword), secret: true }\n")
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.status("first@web") == .changed)
        #expect(log.status("again@web") == .ok)
        #expect(log.status("file@web") == .changed)
        #expect(try String(contentsOfFile: "\(local)/fetched.conf", encoding: .utf8) == "key=value\n")
        // Only what the script and the last step print: no temporary path (mktemp), no stat
        // lines of the upload checks.
        #expect(log.output(on: "web") == ["a b|$HOME|it's|\(SSHServer.user)", "600 \(SSHServer.user)", "644 nobody"])
        #expect(!log.transcript.contains("runner-script."))
        // The script's temporary copy is gone.
        #expect(!log.transcript.contains("No such file"))
    }

    @Test func missingLocalFileAndBadParametersFailClearly() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let (outcome, log) = try await runOverSSH("""
            inventory: inventory.yml
            steps:
              - { id: missing, on: web, continue_on_error: true, uses: ssh, with: { script: /nonexistent/deploy.sh } }
              - { id: both, on: web, continue_on_error: true, uses: ssh, with: { upload: /tmp/x, content: "a", src: /etc/hostname } }
              - { id: none, on: web, continue_on_error: true, uses: ssh, with: { mode: "0644" } }
            """, inventory: "hosts:\n  web: \(try server.inventoryEntry())\n")
        #expect(outcome.status == .succeeded)
        #expect(log.error("missing@web")?.contains("cannot read local file /nonexistent/deploy.sh") == true, "\(log.finished)")
        #expect(log.error("both@web")?.contains("exactly one of src") == true)
        #expect(log.error("none@web")?.contains("exactly one of upload, download or script") == true)
    }
}
