import Foundation
@testable import RunnerSSH
import RunnerCore
import RunnerTestSupport
import Testing

/// known_hosts marker lines, which libssh ignores: `@revoked` keys are refused whatever the
/// policy, `@cert-authority` lines never trust a plain key.
@Suite("Host key markers", .serialized)
struct HostKeyMarkerTests {
    /// `type base64` of the server's current key.
    func key(_ server: SSHServer) throws -> String {
        let fields = try server.knownHostsLine().split(separator: " ")
        return "\(fields[1]) \(fields[2])".trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func write(_ text: String, in server: SSHServer) throws -> String {
        let path = "\(server.directory)/known_hosts.\(UUID().uuidString)"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func revokedKeyIsRefusedEvenWhenAnotherLineTrustsIt() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        // Any host pattern: the marker is about the key.
        for pattern in ["[127.0.0.1]:\(server.port)", "*", "some-other-host.example"] {
            let file = try write(try server.knownHostsLine() + "@revoked \(pattern) \(try key(server))\n", in: server)
            for policy in [HostKeyPolicy.strict, .acceptNew] {
                let error = await #expect(throws: TargetError.self) { try await connect(server, knownHosts: file, policy: policy) }
                #expect(error?.message.contains("is REVOKED (@revoked at \(file):2)") == true, "\(String(describing: error))")
                #expect(error?.message.contains(try server.fingerprint()) == true)
            }
        }
    }

    @Test func revokedKeyIsNeverRecordedByAcceptNew() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let text = "# revoked after the 2026 incident\n@revoked [127.0.0.1]:\(server.port) \(try key(server))\n"
        let file = try write(text, in: server)
        let error = await #expect(throws: TargetError.self) { try await connect(server, knownHosts: file, policy: .acceptNew) }
        #expect(error?.message.contains("REVOKED") == true, "\(String(describing: error))")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == text)
    }

    @Test func revokedKeyIsRefusedBehindAHashedHostName() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let file = try write(try server.knownHostsLine(), in: server)
        try SSHServer.run("/usr/bin/ssh-keygen", ["-q", "-H", "-f", file])
        #expect(try String(contentsOfFile: file, encoding: .utf8).hasPrefix("|1|"))
        _ = try await connect(server, knownHosts: file)  // the hashed line alone is trusted
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        handle.seekToEndOfFile()
        handle.write(Data("@revoked * \(try key(server))\n".utf8))
        try handle.close()
        let error = await #expect(throws: TargetError.self) { try await connect(server, knownHosts: file) }
        #expect(error?.message.contains("REVOKED") == true, "\(String(describing: error))")
    }

    @Test func anotherRevokedKeyDoesNotMatter() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let other = "\(server.directory)/other_host_key"
        try SSHServer.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other])
        let otherKey = try String(contentsOfFile: other + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        let file = try write("@revoked * \(otherKey)\n" + (try server.knownHostsLine()), in: server)
        let target = try await connect(server, knownHosts: file)
        #expect(try await target.run(Command(.shell("echo in")), onOutput: { _ in }).stdout == "in")
    }

    @Test func certAuthorityLineNeverTrustsAPlainKey() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        // The CA line even carries the server's own key: still not trusted, not even on first use.
        let text = "@cert-authority [127.0.0.1]:\(server.port) \(try key(server))\n"
        let file = try write(text, in: server)
        for policy in [HostKeyPolicy.strict, .acceptNew] {
            let error = await #expect(throws: TargetError.self) { try await connect(server, knownHosts: file, policy: policy) }
            #expect(error?.message.contains("is unknown") == true, "\(String(describing: error))")
            #expect(error?.message.contains("@cert-authority at \(file):1") == true)
            #expect(error?.message.contains("does not support host certificates") == true)
        }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == text)

        // A CA for other hosts does not stop accept-new for this one.
        let elsewhere = try write("@cert-authority *.example.com,!127.* \(try key(server))\n", in: server)
        _ = try await connect(server, knownHosts: elsewhere, policy: .acceptNew)
        #expect(try String(contentsOfFile: elsewhere, encoding: .utf8).split(separator: "\n").count == 2)
    }

    @Test func unknownHostHintIsQuotedAndCreatesTheDirectory() async throws {
        let server = try SSHServer.start()
        defer { server.stop() }
        let directory = "\(server.directory)/no such dir/it's $(touch \(server.directory)/PWN)"
        let file = "\(directory)/known hosts"
        let error = await #expect(throws: TargetError.self) { try await connect(server, knownHosts: file) }
        let message = error?.message ?? ""
        #expect(message.contains("mkdir -p "), "\(message)")
        // The hinted command, run by a shell as a user would paste it, records the key.
        guard let start = message.range(of: "add it with: "), let end = message.range(of: " (or set host_key_policy") else {
            Issue.record("no hint in: \(message)")
            return
        }
        let command = String(message[start.upperBound..<end.lowerBound])
        try SSHServer.run("/bin/sh", ["-c", command])
        #expect(!FileManager.default.fileExists(atPath: "\(server.directory)/PWN"))
        let target = try await connect(server, knownHosts: file)
        #expect(try await target.run(Command(.shell("echo in")), onOutput: { _ in }).stdout == "in")
    }

    @Test func hostPatterns() {
        let matches = KnownHostsMarkers.matches
        #expect(matches("web.example.com", "*.example.com"))
        #expect(matches("WEB.example.com", "*.EXAMPLE.com"))
        #expect(matches("[10.0.0.5]:2222", "[10.0.0.?]:2222"))
        #expect(!matches("[10.0.0.5]:2222", "10.0.0.5"))
        #expect(matches("db1", "web*,db?"))
        #expect(!matches("db1", "*,!db1"))
        #expect(!matches("db1", "!db1"))
        #expect(!matches("db1", "|1|c2FsdA==|aGFzaA=="))
        #expect(matches("a", "*****a"))
        #expect(!matches(String(repeating: "a", count: 200), String(repeating: "*a", count: 100) + "b"))
    }
}
