import Foundation
import RunnerCore
import RunnerSSH
import RunnerTestSupport
import Testing

/// Collects `onOutput` lines from the session's queue.
final class LineSink: @unchecked Sendable {
    // @unchecked Sendable is sound: `lines` is only touched under `lock`.
    private let lock = NSLock()
    private var lines: [OutputLine] = []
    func add(_ line: OutputLine) { lock.withLock { lines.append(line) } }
    var all: [OutputLine] { lock.withLock { lines } }
}

func connect(_ server: SSHServer, knownHosts: String? = nil, identity: String = SSHServer.clientKey,
             policy: HostKeyPolicy = .strict) async throws -> SSHTarget {
    let options = SSHConnectOptions(
        host: "127.0.0.1", port: server.port, user: SSHServer.user, identityFile: identity,
        knownHostsFile: try knownHosts ?? server.writeKnownHosts(), hostKeyPolicy: policy, timeout: .seconds(5),
        useAgent: false, configFile: "/dev/null")
    return try await SSHTarget.connect(name: "testhost", options: options)
}

@Suite("SSHTarget commands", .serialized)
struct SSHCommandTests {
    @Test func exitCodes() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        #expect(target.name == "testhost")
        #expect(try await target.run(Command(.shell("exit 3")), onOutput: { _ in }).exitCode == 3)
        #expect(try await target.run(Command(.shell("true")), onOutput: { _ in }).exitCode == 0)
        #expect(try await target.run(Command(.argv(["sh", "-c", "exit 7"])), onOutput: { _ in }).exitCode == 7)
        let quoted = try await target.run(Command(.argv(["printf", "%s|", "it's", "a b", "$HOME"])), onOutput: { _ in })
        #expect(quoted.stdout == "it's|a b|$HOME|")
    }

    @Test func stdoutAndStderrSeparate() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        let sink = LineSink()
        let result = try await target.run(Command(.shell("echo out1; echo err1 >&2; echo out2; printf tail")), onOutput: sink.add)
        #expect(result.stdout == "out1\nout2\ntail")
        #expect(result.stderr == "err1")
        #expect(sink.all.filter { $0.stream == .stdout }.map(\.text) == ["out1", "out2", "tail"])
        #expect(sink.all.filter { $0.stream == .stderr }.map(\.text) == ["err1"])
    }

    @Test func stdinIsWrittenThenClosed() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        let result = try await target.run(Command(.shell("cat; echo done"), stdin: Array("hello\nworld\n".utf8)), onOutput: { _ in })
        #expect(result.stdout == "hello\nworld\ndone")
        let noStdin = try await target.run(Command(.shell("cat; echo eof")), onOutput: { _ in })
        #expect(noStdin.stdout == "eof")
        // More than the channel window, echoed back: stdin and stdout must interleave.
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 4 << 20)
        let echoed = try await target.run(Command(.shell("cat | wc -c"), stdin: big), onOutput: { _ in })
        #expect(echoed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(4 << 20)")
    }

    @Test func environmentAndWorkingDirectory() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        let command = Command(.shell(#"printf '%s|%s|%s' "$GREETING" "$OTHER" "$(pwd)""#),
                              environment: ["GREETING": "it's \"me\" $HOME", "OTHER": "x y"], workingDirectory: "/usr/share")
        let result = try await target.run(command, onOutput: { _ in })
        #expect(result.stdout == "it's \"me\" $HOME|x y|/usr/share")
        let argv = try await target.run(Command(.argv(["pwd"]), workingDirectory: "/tmp"), onOutput: { _ in })
        #expect(argv.stdout == "/tmp")
        await #expect(throws: TargetError.self) {
            try await target.run(Command(.shell("true"), environment: ["A B": "x"]), onOutput: { _ in })
        }
    }

    @Test func tenMegabytesOfOutput() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        let counter = LineSink()
        let result = try await target.run(
            Command(.shell("head -c 10485760 /dev/zero | tr '\\0' a | fold -w 100; echo end >&2"), outputLimit: 1000),
            onOutput: { line in if line.stream == .stderr { counter.add(line) } })
        #expect(result.exitCode == 0)
        #expect(result.stdout.utf8.count == 1000)
        #expect(result.stdoutTruncated)
        #expect(!result.stderrTruncated)
        #expect(result.stderr == "end")
        #expect(counter.all.count == 1)
    }

    @Test func timeoutStopsTheRemoteCommand() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        let pidFile = "/tmp/runner-ssh-sleep-\(UUID().uuidString).pid"
        let result = try await target.run(
            Command(.shell("sleep 100 & echo $! > \(pidFile); wait"), timeout: .seconds(1), killGrace: .seconds(1)),
            onOutput: { _ in })
        #expect(result.timedOut, "\(result)")
        // A killed process whose parent died waits for init to reap it: a zombie counts as gone.
        let check = try await target.run(Command(.shell(
            "sleep 0.2; case \"$(ps -o stat= -p $(cat \(pidFile)))\" in ''|Z*) echo gone;; *) echo alive;; esac; rm -f \(pidFile)")),
            onOutput: { _ in })
        #expect(check.stdout == "gone")
    }

    @Test func cancellationStopsTheRemoteCommand() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        let task = Task { try await target.run(Command(.shell("sleep 100")), onOutput: { _ in }) }
        try await Task.sleep(for: .milliseconds(500))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        // The session is still usable afterwards.
        #expect(try await target.run(Command(.shell("echo ok")), onOutput: { _ in }).stdout == "ok")
    }

    @Test func droppedConnectionFails() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        // The login shell execs `sh`, whose parent is the connection's sshd process.
        let error = await #expect(throws: TargetError.self) {
            try await target.run(Command(.shell("kill -9 $PPID; sleep 30")), onOutput: { _ in })
        }
        #expect(error?.message.contains("connection") == true)
    }
}

@Suite("SSHTarget files", .serialized)
struct SSHFileTests {
    @Test func writeFileIsAtomicWithModeAndReadsBack() async throws {
        let server = try SSHServer.start()
        let target = try await connect(server)
        let directory = try await target.run(Command(.shell("mktemp -d")), onOutput: { _ in })
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let path = "\(directory)/config file"
        try await target.writeFile(path, contents: Array("first\n".utf8), mode: 0o640)
        let first = try await target.run(Command(.argv(["stat", "-c", "%a %i", path])), onOutput: { _ in }).stdout
        #expect(first.hasPrefix("640 "))
        #expect(try await target.readFile(path, limit: 100) == Array("first\n".utf8))

        // Replacing an existing file: a new inode (rename, never rewriting in place), new mode.
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        try await target.writeFile(path, contents: big, mode: 0o600)
        let second = try await target.run(Command(.argv(["stat", "-c", "%a %i", path])), onOutput: { _ in }).stdout
        #expect(second.hasPrefix("600 "))
        #expect(second.split(separator: " ")[1] != first.split(separator: " ")[1])
        #expect(try await target.readFile(path, limit: 1 << 20) == big)
        let listing = try await target.run(Command(.argv(["ls", "-A", directory])), onOutput: { _ in }).stdout
        #expect(listing == "config file")

        await #expect(throws: TargetError.self) { try await target.readFile(path, limit: 1000) }
        await #expect(throws: TargetError.self) { try await target.readFile("\(directory)/missing", limit: 1000) }
        // A missing directory is named, with what to do (not just "SFTP status 2").
        let missing = await #expect(throws: TargetError.self) {
            try await target.writeFile("\(directory)/no/such/dir/file", contents: [1], mode: 0o644)
        }
        #expect(missing?.message.contains("the directory \(directory)/no/such/dir/ does not exist on testhost") == true, "\(missing?.message ?? "")")
        #expect(missing?.message.contains("create it first") == true)
        _ = try await target.run(Command(.argv(["rm", "-rf", directory])), onOutput: { _ in })
    }

    /// A server without the SFTP subsystem: the message says the server needs it and how.
    @Test func aServerWithoutSFTPIsExplained() async throws {
        let server = try SSHServer.start(sftp: false)
        let target = try await connect(server)
        #expect(try await target.run(Command(.shell("echo commands work")), onOutput: { _ in }).stdout == "commands work")
        let error = await #expect(throws: TargetError.self) {
            try await target.writeFile("/tmp/runner-no-sftp-\(server.port)", contents: [1], mode: 0o644)
        }
        #expect(error?.message.contains("the server has no SFTP subsystem") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("Subsystem sftp internal-sftp") == true)
    }
}

@Suite("SSHSession connecting")
struct SSHConnectTests {
    @Test func unknownHostKeyIsRefusedWithFingerprint() async throws {
        let server = try SSHServer.start()
        let knownHosts = "\(server.directory)/empty_known_hosts"
        _ = FileManager.default.createFile(atPath: knownHosts, contents: Data())
        let error = await #expect(throws: TargetError.self) { try await connect(server, knownHosts: knownHosts) }
        let fingerprint = try server.fingerprint()
        #expect(error?.message.contains("unknown") == true)
        #expect(error?.message.contains(fingerprint) == true)

        // accept-new appends the key; a strict connection then succeeds.
        _ = try await connect(server, knownHosts: knownHosts, policy: .acceptNew)
        let target = try await connect(server, knownHosts: knownHosts)
        #expect(try await target.run(Command(.shell("echo hi")), onOutput: { _ in }).stdout == "hi")
    }

    @Test func changedHostKeyIsRefused() async throws {
        let server = try SSHServer.start()
        let knownHosts = try server.writeKnownHosts()
        _ = try await connect(server, knownHosts: knownHosts)
        try server.restart(newHostKey: true)
        for policy in [HostKeyPolicy.strict, .acceptNew] {
            let error = await #expect(throws: TargetError.self) { try await connect(server, knownHosts: knownHosts, policy: policy) }
            #expect(error?.message.contains("CHANGED") == true, "\(String(describing: error))")
            #expect(error?.message.contains(try server.fingerprint()) == true)
        }
    }

    @Test func wrongClientKeyIsRefused() async throws {
        let server = try SSHServer.start()
        let other = "\(server.directory)/other_client_key"
        try SSHServer.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other])
        let error = await #expect(throws: TargetError.self) { try await connect(server, identity: other) }
        #expect(error?.message.contains("authentication") == true)
    }

    @Test func connectionRefused() async throws {
        let server = try SSHServer.start()
        let knownHosts = try server.writeKnownHosts()
        server.stop()
        let error = await #expect(throws: TargetError.self) { try await connect(server, knownHosts: knownHosts) }
        #expect(error?.message.contains("ssh_connect") == true)
    }

    @Test func severalServers() async throws {
        let servers = try SSHServer.start(count: 3)
        #expect(Set(servers.map(\.port)).count == 3)
        for server in servers {
            let target = try await connect(server)
            #expect(try await target.run(Command(.shell("echo $SSH_CONNECTION")), onOutput: { _ in }).stdout.contains(" \(server.port)"))
        }
    }
}

