import Foundation
import RunnerCore
import RunnerSSH
import RunnerTestSupport
import Testing

/// Whether this machine lets the tests add iptables rules (root, and a kernel with netfilter).
let canDropPackets = (try? SSHServer.run("/usr/sbin/iptables", ["-w", "-n", "-L", "INPUT"])) != nil

/// A server that is still there for TCP but no longer answers: frozen sshd processes, or
/// packets dropped by a firewall. The runner must notice through SSH keepalives and fail the
/// command (never re-run it), and blocking exchanges must fail instead of hanging.
@Suite("Dead servers", .serialized)
struct DeadServerTests {
    func connectFast(_ server: SSHServer) async throws -> SSHTarget {
        let options = SSHConnectOptions(
            host: "127.0.0.1", port: server.port, user: SSHServer.user, identityFile: SSHServer.clientKey,
            knownHostsFile: try server.writeKnownHosts(), timeout: .seconds(2), keepalive: .seconds(1),
            useAgent: false, configFile: "/dev/null")
        return try await SSHTarget.connect(name: "frozen", options: options)
    }

    @Test func frozenServerFailsTheStepThroughKeepalivesAndFinallyRuns() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let shared = try sharedDirectory()
        let local = try makeTemporaryDirectory("runner-ssh-frozen")
        let run = Task {
            try await runOverSSH("""
                inventory: inventory.yml
                steps:
                  - { name: long, on: web, timeout: 30s, run: "touch \(shared)/started; sleep 60; echo unreachable" }
                finally:
                  - { name: cleanup, run: "echo cleaned > \(local)/finally" }
                  - { name: again, on: web, run: "echo fresh connection" }
                """, inventory: "hosts:\n  web: \(try server.inventoryEntry("keepalive: 1s, connect_timeout: 2s"))\n")
        }
        try await waitForFile("\(shared)/started")
        let frozen = server.freezeConnections()
        defer { server.release(frozen) }
        let (outcome, log) = try await run.value
        #expect(outcome.status == .failed)
        let error = log.error("long@web") ?? ""
        #expect(error.contains("connection lost: web did not answer 3 keepalives in"), "\(log.transcript)")
        #expect(!error.contains("timed out"))
        #expect(log.status("cleanup") == .ok)
        #expect(try String(contentsOfFile: "\(local)/finally", encoding: .utf8) == "cleaned\n")
        // The dead connection was dropped, not handed out again: `finally` on the same host
        // ran on a new one (the listener itself was never frozen).
        #expect(log.status("again@web") == .ok, "\(log.transcript)")
        #expect(log.output(on: "web") == ["fresh connection"])
    }

    @Test func aSilentCommandOnAnAnsweringServerIsNotMistakenForADeadOne() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let target = try await connectFast(server)
        // Six keepalive intervals of silence: the server answers every probe.
        let result = try await target.run(Command(.shell("sleep 6; echo done")), onOutput: { _ in })
        #expect(result.stdout == "done")
    }

    @Test(.enabled(if: canDropPackets, "needs iptables"))
    func droppedPacketsFailTheCommandThroughKeepalives() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let shared = try sharedDirectory()
        let target = try await connectFast(server)
        let run = Task {
            try await target.run(Command(.shell("touch \(shared)/started; sleep 60"), timeout: .seconds(30)), onOutput: { _ in })
        }
        try await waitForFile("\(shared)/started")
        let drop = try server.dropPackets()
        defer { drop.undo() }
        let error = await #expect(throws: TargetError.self) { try await run.value }
        #expect(error?.message.contains("connection lost: frozen did not answer 3 keepalives") == true, "\(String(describing: error))")
    }

    @Test func fileTransfersToAFrozenServerFailInsteadOfHanging() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let target = try await connectFast(server)
        let path = "/tmp/runner-frozen-\(UUID().uuidString)"
        try await target.writeFile(path, contents: Array("before\n".utf8), mode: 0o644)
        let frozen = server.freezeConnections()
        defer { server.release(frozen); try? FileManager.default.removeItem(atPath: path) }
        let write = await #expect(throws: TargetError.self) {
            try await target.writeFile(path, contents: Array("after\n".utf8), mode: 0o644)
        }
        #expect(write?.message.contains("connection lost: frozen did not answer within 2.0s") == true, "\(String(describing: write))")
        // The pool dropped that connection: the next call connects anew (the listener was not
        // frozen) and works.
        #expect(try await target.readFile(path, limit: 100) == Array("before\n".utf8))
        let frozenAgain = server.freezeConnections()
        defer { server.release(frozenAgain) }
        let read = await #expect(throws: TargetError.self) { try await target.readFile(path, limit: 100) }
        #expect(read?.message.contains("connection lost: frozen did not answer within 2.0s") == true, "\(String(describing: read))")
    }

    @Test func aTransferFrozenHalfwayFailsInsteadOfHanging() async throws {
        // libssh 0.10 waits for an SFTP reply in a loop that ignores every timeout: this is the
        // case the watchdog exists for.
        let server = try SSHServer.start()
        defer { server.stop() }
        let target = try await connectFast(server)
        let directory = try sharedDirectory()
        let big = [UInt8](repeating: UInt8(ascii: "x"), count: 256 << 20)
        let write = Task { try await target.writeFile("\(directory)/big", contents: big, mode: 0o644) }
        // The temporary file appears when the transfer starts; freeze while it is under way.
        while !((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).contains(where: { $0.hasSuffix(".tmp") }) {
            try await Task.sleep(for: .milliseconds(2))
        }
        let frozen = server.freezeConnections()
        defer { server.release(frozen); try? FileManager.default.removeItem(atPath: directory) }
        let error = await #expect(throws: TargetError.self) { try await write.value }
        #expect(error?.message.contains("connection lost: frozen did not answer within 2.0s") == true, "\(String(describing: error))")
    }
}
