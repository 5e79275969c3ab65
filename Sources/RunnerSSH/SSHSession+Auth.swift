import CLibSSH
import Foundation
import RunnerCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SSHSession {
    /// The server key's `SHA256:…` fingerprint, as `ssh-keygen -l` prints it, and its public
    /// key blob (as in known_hosts, decoded).
    func serverKey() throws -> (fingerprint: String, blob: [UInt8]) {
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
        var base64: UnsafeMutablePointer<CChar>? = nil
        try check(ssh_pki_export_pubkey_base64(key, &base64), "ssh_pki_export_pubkey_base64")
        defer { ssh_string_free_char(base64) }
        let blob = base64.flatMap { Data(base64Encoded: String(cString: $0)) }.map { [UInt8]($0) } ?? []
        return (String(cString: text), blob)
    }

    /// Checks the server's key: never one that a known_hosts file revokes (`@revoked`, which
    /// libssh ignores, see `KnownHostsMarkers`), then libssh's known_hosts check, then the
    /// policy for an unknown host.
    func verifyHostKey(_ options: SSHConnectOptions) throws {
        let (fingerprint, blob) = try serverKey()
        var port: UInt32 = 22
        _ = ssh_options_get_port(raw, &port)
        let address = option(SSH_OPTIONS_HOST) ?? options.host
        let host = port == 22 ? address : "[\(address)]:\(port)"
        let file = expandTilde(option(SSH_OPTIONS_KNOWNHOSTS) ?? "~/.ssh/known_hosts")
        let markers = KnownHostsMarkers(files: [file, option(SSH_OPTIONS_GLOBAL_KNOWNHOSTS) ?? "/etc/ssh/ssh_known_hosts"])
        if let revoked = markers.revocation(of: blob) {
            throw TargetError(target: name, """
                host key for \(host) (\(fingerprint)) is REVOKED (@revoked at \(revoked.location)); refusing to \
                connect, whatever the host_key_policy. A revoked key is never accepted: if the server still \
                offers it, it has not been re-keyed, or it is not the server you meant.
                """)
        }
        switch ssh_session_is_known_server(raw) {
        case SSH_KNOWN_HOSTS_OK:
            return
        case SSH_KNOWN_HOSTS_CHANGED, SSH_KNOWN_HOSTS_OTHER:
            throw TargetError(target: name, """
                host key for \(host) has CHANGED (now \(fingerprint)); refusing to connect. \
                This can be a man-in-the-middle attack. If the host was really re-keyed, remove \
                its old entry (ssh-keygen -R \(ShellQuote.quote(host)) -f \(ShellQuote.quote(file))) and accept the new key.
                """)
        case SSH_KNOWN_HOSTS_UNKNOWN, SSH_KNOWN_HOSTS_NOT_FOUND:
            let authority = markers.certificateAuthority(for: host)
            guard options.hostKeyPolicy == .acceptNew, authority == nil else {
                throw TargetError(target: name, Self.unknownHostMessage(
                    host: host, address: address, port: port, fingerprint: fingerprint, file: file,
                    authority: authority?.location))
            }
            try check(ssh_session_update_known_hosts(raw), "ssh_session_update_known_hosts(\(file))")
        default:
            throw failure("ssh_session_is_known_server", "cannot check \(file)")
        }
    }

    /// The refusal of an unknown host, with a command that accepts it once the fingerprint
    /// was checked (quoted for the shell; creating the file's directory when it is missing).
    /// `authority` is the `@cert-authority` line naming the host, if any.
    static func unknownHostMessage(host: String, address: String, port: UInt32, fingerprint: String,
                                   file: String, authority: String?) -> String {
        let directory = file.lastIndex(of: "/").map { String(file[..<$0]) } ?? ""
        let mkdir = directory.isEmpty || access(directory, F_OK) == 0 ? "" : "mkdir -p \(ShellQuote.quote(directory)) && "
        let add = "\(mkdir)ssh-keyscan -p \(port) \(ShellQuote.quote(address)) >> \(ShellQuote.quote(file))"
        if let authority {
            return """
                host key for \(host) is unknown (\(fingerprint)); refusing to connect. known_hosts trusts a \
                certificate authority for this host (@cert-authority at \(authority)), but runner does not \
                support host certificates, and does not trust such a host on first use either. After checking \
                the fingerprint, add the host's own key with: \(add)
                """
        }
        return """
            host key for \(host) is unknown (\(fingerprint)); refusing to connect. After checking \
            the fingerprint, add it with: \(add) \
            (or set host_key_policy: accept-new on the host in the inventory)
            """
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
