import Foundation
import RunnerCore
import RunnerSSH
import RunnerTestSupport
import Testing

/// Writes an SSH client configuration in `jump.directory` where the Host alias `app-server`
/// is `target`, reached through `jump` with `ssh -W` (ProxyJump as libssh 0.10 runs it), and
/// returns its path. With `pidFile`, the proxy writes its pid there.
func proxiedConfig(jump: SSHServer, target: SSHServer, pidFile: String? = nil) throws -> String {
    let directory = jump.directory
    // The OpenSSH client that carries the connection to the jump host reads this file.
    let jumpConfig = """
        Host jumpbox
          HostName 127.0.0.1
          Port \(jump.port)
          User \(SSHServer.user)
          IdentityFile \(SSHServer.clientKey)
          UserKnownHostsFile \(try jump.writeKnownHosts())
          StrictHostKeyChecking yes
          BatchMode yes

        """
    try jumpConfig.write(toFile: "\(directory)/jump_config", atomically: true, encoding: .utf8)
    var proxy = "ssh -F \(directory)/jump_config -W %h:%p jumpbox"
    if let pidFile {
        let script = "#!/bin/sh\necho $$ > \(pidFile)\nexec ssh -F \(directory)/jump_config -W \"$1:$2\" jumpbox\n"
        try script.write(toFile: "\(directory)/proxy.sh", atomically: true, encoding: .utf8)
        proxy = "/bin/sh \(directory)/proxy.sh %h %p"
    }
    let config = """
        Host app-server
          HostName 127.0.0.1
          Port \(target.port)
          User \(SSHServer.user)
          IdentityFile \(SSHServer.clientKey)
          UserKnownHostsFile \(try target.writeKnownHosts())
          ProxyCommand \(proxy)

        """
    try config.write(toFile: "\(directory)/ssh_config", atomically: true, encoding: .utf8)
    return "\(directory)/ssh_config"
}

/// Holds a target until another thread drops it.
final class TargetBox: @unchecked Sendable {
    // @unchecked Sendable is sound: `target` is only touched under `lock`.
    private let lock = NSLock()
    private var target: SSHTarget?
    init(_ target: SSHTarget) { self.target = target }
    func drop() { lock.withLock { target = nil } }
    var value: SSHTarget? { lock.withLock { target } }
}

@Suite("ProxyCommand connections", .serialized)
struct ProxyCommandTests {
    @Test func droppingAProxiedConnectionEndsItsProxy() async throws {
        let jump = try SSHServer.start()
        let server = try SSHServer.start()
        defer { jump.stop(); server.stop() }
        let pidFile = "\(jump.directory)/proxy.pid"
        let config = try proxiedConfig(jump: jump, target: server, pidFile: pidFile)
        // Held by the box only, so dropping it there releases the last reference.
        let box = TargetBox(try await SSHTarget.connect(name: "app", options: SSHConnectOptions(
            host: "app-server", timeout: .seconds(5), useAgent: false, configFile: config)))
        #expect(try await box.value?.run(Command(.shell("echo in")), onOutput: { _ in }).stdout == "in")
        let proxy = try #require(pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(proxy, 0) == 0)
        // Dropping the last reference disconnects; libssh then waits for the proxy, which exits
        // only once every copy of its socket is closed. (On another thread: if it hangs, it
        // hangs there, and the expectation below fails.)
        DispatchQueue.global().async { box.drop() }
        var exited = false
        for _ in 0..<600 where !exited {
            exited = kill(proxy, 0) != 0
            if !exited { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(exited, "the ProxyCommand (pid \(proxy)) is still running after its connection was dropped")
    }
}
