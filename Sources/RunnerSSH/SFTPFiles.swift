import CLibSSH
import RunnerCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One SFTP subsystem channel for one transfer. Used only on its session's queue; holds the
/// session so the `ssh_session` outlives the `sftp_session`.
final class SFTPFiles {
    let session: SSHSession
    let raw: sftp_session

    init(session: SSHSession) throws {
        guard let raw = sftp_new(session.raw) else {
            let error = session.failure("sftp_new")
            guard error.message.contains("subsystem") else { throw error }
            throw TargetError(target: session.name, """
                the server has no SFTP subsystem, which runner needs to write and read files (uploads, sites, \
                flags, decrypted secrets): enable it in the server's sshd_config with `Subsystem sftp internal-sftp` \
                (or the distribution's sftp-server) and reload sshd; see docs/ssh.md#sftp (\(error.message))
                """)
        }
        self.session = session
        self.raw = raw
        try check(sftp_init(raw), "sftp_init")
    }

    deinit { sftp_free(raw) }

    /// Writes atomically: a temporary file `.<name>.<random>.tmp` next to `path`, written,
    /// chmod'ed to `mode` (the server's umask does not narrow it), fsync'ed when the server has
    /// `fsync@openssh.com`, then renamed over `path`.
    ///
    /// libssh 0.10's `sftp_rename` sends a plain SFTP rename, which OpenSSH refuses when the
    /// target exists. In that case the temporary file is moved with `mv -f` on an exec channel,
    /// which is `rename(2)`: still atomic. The temporary file is removed on any failure.
    func write(_ path: String, contents: [UInt8], mode: Int) throws {
        guard (0...0o7777).contains(mode) else {
            throw TargetError(target: session.name, "cannot write '\(path)': invalid mode \(String(mode, radix: 8))")
        }
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw TargetError(target: session.name, "cannot write '\(path)': not a file path")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory).\(base.utf8.count <= 100 ? base : "runner").\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).tmp"

        guard let file = sftp_open(raw, temporary, O_WRONLY | O_CREAT | O_EXCL, mode_t(mode)) else {
            throw openFailure(path, directory: directory.isEmpty ? "." : directory)
        }
        var renamed = false
        defer { if !renamed { _ = sftp_unlink(raw, temporary) } }
        do {
            defer { _ = sftp_close(file) }
            var offset = 0
            while offset < contents.count {
                let size = min(contents.count - offset, 1 << 15)
                let written = contents.withUnsafeBytes { sftp_write(file, $0.baseAddress! + offset, size) }
                guard written > 0 else { throw failure("sftp_write", "cannot write '\(path)'") }
                offset += written
                session.watchdog.arm()  // progress: only a stalled request trips it
            }
            if sftp_extension_supported(raw, "fsync@openssh.com", "1") != 0 {
                try check(sftp_fsync(file), "sftp_fsync", "cannot write '\(path)'")
            }
        }
        try check(sftp_chmod(raw, temporary, mode_t(mode)), "sftp_chmod", "cannot write '\(path)'")
        if sftp_rename(raw, temporary, path) != 0 {
            session.watchdog.arm()
            try renameOver(temporary, path)
        }
        renamed = true
    }

    /// Replaces an existing `path` with `mv -f` (rename(2)) when plain SFTP rename refused.
    private func renameOver(_ temporary: String, _ path: String) throws {
        let renameError = failure("sftp_rename", "cannot write '\(path)'")
        let command = Command(.argv(["mv", "-f", "--", temporary, path]), timeout: .seconds(60))
        let channel = try SSHChannel(session: session, command: try SSHTarget.remoteCommandLine(command, target: session.name))
        var loop = RemoteCommandLoop(channel: channel, command: command, cancel: try CancelPipe(target: session.name)) { _ in }
        let (result, _) = try loop.run()
        guard result.succeeded else {
            throw TargetError(target: session.name, "\(renameError.message); mv -f failed: \(result.stderr)")
        }
    }

    /// Reads the whole file, refusing more than `limit` bytes.
    func read(_ path: String, limit: Int) throws -> [UInt8] {
        let tooLarge = TargetError(target: session.name, "cannot read '\(path)': larger than the limit of \(limit) bytes")
        guard let file = sftp_open(raw, path, O_RDONLY, 0) else { throw failure("sftp_open", "cannot read '\(path)'") }
        defer { _ = sftp_close(file) }
        if let attributes = sftp_fstat(file) {
            defer { sftp_attributes_free(attributes) }
            if attributes.pointee.type == UInt8(SSH_FILEXFER_TYPE_REGULAR), attributes.pointee.size > UInt64(max(limit, 0)) {
                throw tooLarge
            }
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 15)
        while true {
            let count = chunk.withUnsafeMutableBytes { sftp_read(file, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            guard count > 0 else { throw failure("sftp_read", "cannot read '\(path)'") }
            if bytes.count + count > limit { throw tooLarge }
            bytes.append(contentsOf: chunk[..<count])
            session.watchdog.arm()
        }
    }

    /// Why a file could not be created in `directory`, saying what to do for the usual causes.
    private func openFailure(_ path: String, directory: String) -> TargetError {
        let error = failure("sftp_open", "cannot write '\(path)'")
        switch sftp_get_error(raw) {
        case 2:
            return TargetError(target: session.name, """
                cannot write '\(path)': the directory \(directory) does not exist on \(session.name). Files are \
                written into existing directories only: create it first (a step before, e.g. `run: mkdir -p "$DIR"`) \
                (\(error.message))
                """)
        case 3:
            return TargetError(target: session.name, """
                cannot write '\(path)': the SSH user may not create files in \(directory) on \(session.name) \
                (give the step `sudo: true` to write as root, or change the directory's owner) (\(error.message))
                """)
        default:
            return error
        }
    }

    private func check(_ rc: Int32, _ function: String, _ detail: String? = nil) throws {
        if rc != SSH_OK { throw failure(function, detail) }
    }

    /// A `TargetError` naming `function`, the SFTP status and libssh's error text.
    private func failure(_ function: String, _ detail: String? = nil) -> TargetError {
        let status = sftp_get_error(raw)
        let names = [0: "ok", 1: "end of file", 2: "no such file", 3: "permission denied", 4: "failure",
                     5: "bad message", 6: "no connection", 7: "connection lost", 8: "unsupported", 11: "file already exists"]
        let statusText = status == 0 ? nil : "SFTP status \(status) (\(names[Int(status)] ?? "?"))"
        return session.failure(function, [detail, statusText].compactMap { $0 }.joined(separator: ": "))
    }
}
