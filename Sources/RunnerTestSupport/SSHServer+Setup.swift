import Foundation

public struct FixtureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension SSHServer {
    /// Shared by every server of the test process: a world-readable directory (sshd reads
    /// authorized_keys as `runner-test`) with the client key pair and authorized_keys.
    public static let clientDirectory: String = {
        let directory = try! makeTemporaryDirectory("runner-ssh-client")
        return directory
    }()
    public static var clientKey: String { "\(clientDirectory)/client_ed25519" }
    public static var authorizedKeys: String { "\(clientDirectory)/authorized_keys" }
    /// The test user's password, which only sudo asks for (sshd takes keys only).
    public static let sudoPassword = "s3cret-sudo-pw-7f3a"

    private static let setup: Result<Void, FixtureError> = {
        do {
            if (try? run("/usr/bin/id", ["-u", user])) == nil {
                try run("/usr/sbin/useradd", ["-m", "-s", "/bin/sh", user])
            }
            // An account whose password is "!" is locked, and sshd without PAM refuses it; a
            // real password (for the sudo tests) unlocks it as well.
            let hash = try run("/usr/bin/openssl", ["passwd", "-6", sudoPassword]).trimmingCharacters(in: .whitespacesAndNewlines)
            try run("/usr/sbin/usermod", ["-p", hash, user])
            // sudo to root needs the password; sudo to nobody does not.
            let rules = "\(user) ALL=(root) ALL\n\(user) ALL=(nobody) NOPASSWD: ALL\n"
            try rules.write(toFile: "/etc/sudoers.d/runner-test", atomically: true, encoding: .utf8)
            chmod("/etc/sudoers.d/runner-test", 0o440)
            try run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", clientKey])
            try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: authorizedKeys)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: authorizedKeys)
            return .success(())
        } catch {
            return .failure(FixtureError("SSH test setup failed: \(error)"))
        }
    }()

    public static func ensureUserAndClientKey() throws { try setup.get() }

    /// Runs a program to completion, returning its output; throws when it exits non-zero.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String]) throws -> String {
        try Spawn.run(program, arguments)
    }
}

/// A new directory under /tmp, readable by everyone (`runner-test` must reach files in it).
public func makeTemporaryDirectory(_ prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    guard let created = mkdtemp(&template) else { throw FixtureError("mkdtemp failed") }
    let path = String(cString: created)
    chmod(path, 0o755)
    return path
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw FixtureError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw FixtureError("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
