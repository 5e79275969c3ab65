import CLibSSH
import RunnerCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SSHSession {
    /// The server key's `SHA256:…` fingerprint, as `ssh-keygen -l` prints it.
    func serverFingerprint() throws -> String {
        var key: ssh_key? = nil
        try check(ssh_get_server_publickey(raw, &key), "ssh_get_server_publickey")
        defer { ssh_key_free(key) }
        var hash: UnsafeMutablePointer<UInt8>? = nil
        var length = 0
        try check(ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length), "ssh_get_publickey_hash")
        defer { ssh_clean_pubkey_hash(&hash) }
        guard let text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length) else {
            throw failure("ssh_get_fingerprint_hash")
        }
        defer { ssh_string_free_char(text) }
        return String(cString: text)
    }

    func verifyHostKey(_ options: SSHConnectOptions) throws {
        let fingerprint = try serverFingerprint()
        let host = options.port == 22 ? options.host : "[\(options.host)]:\(options.port)"
        switch ssh_session_is_known_server(raw) {
        case SSH_KNOWN_HOSTS_OK:
            return
        case SSH_KNOWN_HOSTS_CHANGED, SSH_KNOWN_HOSTS_OTHER:
            throw TargetError(target: name, """
                host key for \(host) has CHANGED (now \(fingerprint)); refusing to connect. \
                This can be a man-in-the-middle attack. If the host was really re-keyed, remove \
                its old entry (ssh-keygen -R '\(host)' -f \(options.knownHostsFile)) and accept the new key.
                """)
        case SSH_KNOWN_HOSTS_UNKNOWN, SSH_KNOWN_HOSTS_NOT_FOUND:
            guard options.hostKeyPolicy == .acceptNew else {
                throw TargetError(target: name, """
                    host key for \(host) is unknown (\(fingerprint)); refusing to connect. After checking \
                    the fingerprint, accept it with: ssh-keyscan -p \(options.port) \(options.host) >> \
                    \(options.knownHostsFile) (or connect once with the accept-new host key policy)
                    """)
            }
            try check(ssh_session_update_known_hosts(raw), "ssh_session_update_known_hosts(\(options.knownHostsFile))")
        default:
            throw failure("ssh_session_is_known_server", "cannot check \(options.knownHostsFile)")
        }
    }

    func authenticate(_ options: SSHConnectOptions) throws {
        var tried: [String] = []
        if let identity = options.identityFile {
            var key: ssh_key? = nil
            try check(ssh_pki_import_privkey_file(identity, nil, nil, nil, &key),
                      "ssh_pki_import_privkey_file(\(identity))")
            defer { ssh_key_free(key) }
            if try authResult(ssh_userauth_publickey(raw, nil, key), "ssh_userauth_publickey") { return }
            tried.append("identity \(identity)")
        }
        if options.useAgent, let socket = getenv("SSH_AUTH_SOCK"), socket.pointee != 0 {
            if try authResult(ssh_userauth_agent(raw, nil), "ssh_userauth_agent") { return }
            tried.append("ssh-agent keys")
        }
        let what = tried.isEmpty ? "no identity file and no ssh-agent (SSH_AUTH_SOCK unset)" : tried.joined(separator: ", ")
        throw TargetError(target: name, "authentication as '\(options.user)' failed: server accepted none of: \(what)")
    }

    /// True on success, false when the server denied the key(s); throws on protocol errors.
    private func authResult(_ rc: Int32, _ function: String) throws -> Bool {
        switch rc {
        case SSH_AUTH_SUCCESS.rawValue: return true
        case SSH_AUTH_DENIED.rawValue, SSH_AUTH_PARTIAL.rawValue: return false
        default: throw failure(function)
        }
    }
}
