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
        var port: UInt32 = 22
        _ = ssh_options_get_port(raw, &port)
        let address = option(SSH_OPTIONS_HOST) ?? options.host
        let host = port == 22 ? address : "[\(address)]:\(port)"
        let file = option(SSH_OPTIONS_KNOWNHOSTS) ?? "~/.ssh/known_hosts"
        switch ssh_session_is_known_server(raw) {
        case SSH_KNOWN_HOSTS_OK:
            return
        case SSH_KNOWN_HOSTS_CHANGED, SSH_KNOWN_HOSTS_OTHER:
            throw TargetError(target: name, """
                host key for \(host) has CHANGED (now \(fingerprint)); refusing to connect. \
                This can be a man-in-the-middle attack. If the host was really re-keyed, remove \
                its old entry (ssh-keygen -R '\(host)' -f \(file)) and accept the new key.
                """)
        case SSH_KNOWN_HOSTS_UNKNOWN, SSH_KNOWN_HOSTS_NOT_FOUND:
            guard options.hostKeyPolicy == .acceptNew else {
                throw TargetError(target: name, """
                    host key for \(host) is unknown (\(fingerprint)); refusing to connect. After checking \
                    the fingerprint, add it with: ssh-keyscan -p \(port) \(address) >> \(file) \
                    (or set host_key_policy: accept-new on the host in the inventory)
                    """)
            }
            try check(ssh_session_update_known_hosts(raw), "ssh_session_update_known_hosts(\(file))")
        default:
            throw failure("ssh_session_is_known_server", "cannot check \(file)")
        }
    }

    func authenticate(_ options: SSHConnectOptions) throws {
        let user = option(SSH_OPTIONS_USER) ?? "?"
        var tried: [String] = []
        if let identity = options.identityFile {
            var key: ssh_key? = nil
            let rc = ssh_pki_import_privkey_file(identity, options.identityPassphrase, nil, nil, &key)
            guard rc == SSH_OK else {
                let readable = access(identity, R_OK) == 0
                throw TargetError(target: name, readable
                    ? "cannot load identity \(identity): not a private key, or it is encrypted and the passphrase is \(options.identityPassphrase == nil ? "missing (set identity_passphrase on the host)" : "wrong")"
                    : "cannot read identity \(identity): \(String(cString: strerror(errno)))")
            }
            defer { ssh_key_free(key) }
            if try authResult(ssh_userauth_publickey(raw, nil, key), "ssh_userauth_publickey") { return }
            tried.append("identity \(identity)")
            if options.useAgent, let socket = getenv("SSH_AUTH_SOCK"), socket.pointee != 0 {
                if try authResult(ssh_userauth_agent(raw, nil), "ssh_userauth_agent") { return }
                tried.append("ssh-agent keys")
            }
        } else {
            // The agent, then every IdentityFile of the configuration and the default keys.
            if try authResult(ssh_userauth_publickey_auto(raw, nil, options.identityPassphrase), "ssh_userauth_publickey_auto") {
                return
            }
            tried.append("ssh-agent keys and the identity files of the SSH configuration (~/.ssh/id_*)")
        }
        throw TargetError(target: name, "authentication as '\(user)' failed: the server accepted none of: \(tried.joined(separator: ", "))")
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
