import Foundation
import RunnerCore
import RunnerTestSupport
import Testing

/// The inventory's `host_key_policy` reaches the connection: no policy means strict, and only
/// an explicit `accept-new` trusts a new host (through the whole inventory → pipeline → engine
/// → SSH path, not only the `SSHSession` API).
@Suite("host_key_policy from the inventory", .serialized)
struct HostKeyPolicyTests {
    func entry(_ server: SSHServer, knownHosts: String, _ extra: String = "") -> String {
        "{ address: 127.0.0.1, port: \(server.port), user: \(SSHServer.user), identity: \(SSHServer.clientKey), known_hosts: \(knownHosts), ssh_config: /dev/null\(extra) }"
    }

    func emptyKnownHosts(_ server: SSHServer) -> String {
        let path = "\(server.directory)/known_hosts.empty.\(UUID().uuidString)"
        FileManager.default.createFile(atPath: path, contents: Data())
        return path
    }

    let pipeline = """
        inventory: inventory.yml
        steps:
          - { name: hello, on: web, run: "echo in" }
        """

    @Test func aHostWithoutAPolicyRefusesAnUnknownKeyAndRecordsNothing() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        for extra in ["", ", host_key_policy: strict"] {
            let knownHosts = emptyKnownHosts(server)
            let (outcome, log) = try await runOverSSH(pipeline, inventory: "hosts:\n  web: \(entry(server, knownHosts: knownHosts, extra))\n")
            #expect(outcome.status == .failed)
            #expect(log.error("hello@web")?.contains("is unknown (\(try server.fingerprint()))") == true, "\(log.transcript)")
            #expect(log.output(on: "web").isEmpty)
            #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).isEmpty)
        }
    }

    @Test func acceptNewInTheInventoryTrustsAndRecordsTheKey() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let knownHosts = emptyKnownHosts(server)
        let inventory = "hosts:\n  web: \(entry(server, knownHosts: knownHosts, ", host_key_policy: accept-new"))\n"
        let (outcome, log) = try await runOverSSH(pipeline, inventory: inventory)
        #expect(outcome.status == .succeeded, "\(log.transcript)")
        #expect(log.output(on: "web") == ["in"])
        let blob = try server.knownHostsLine().split(separator: " ")[2].trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8).contains(blob))

        // Recorded once, then checked: a changed key is refused even with accept-new.
        try server.restart(newHostKey: true)
        let (changed, changedLog) = try await runOverSSH(pipeline, inventory: inventory)
        #expect(changed.status == .failed)
        #expect(changedLog.error("hello@web")?.contains("CHANGED") == true, "\(changedLog.transcript)")
    }
}
