import RunnerCore

/// A host reached over SSH: commands run on channels of one shared `SSHSession`, files move
/// over SFTP.
///
/// Commands run through the remote user's login shell, which must be POSIX (`sh`, `bash`,
/// `dash`, `zsh`): environment and working directory are applied by prefixing the command
/// (`K='v' && export K && cd 'dir' && exec /bin/sh -c 'script'`), so the server's `AcceptEnv`
/// does not matter. Timeouts and cancellation signal the command's whole process group, TERM
/// and after `killGrace` KILL (see `RemoteCommandLoop`).
/// Each call takes a session of the host's `SSHSessionPool` for its duration, so parallel
/// steps on one host run side by side on separate connections.
public struct SSHTarget: Target {
    /// The inventory name of the host.
    public let name: String
    /// The connections every call uses.
    public let pool: SSHSessionPool

    /// A target using an already connected pool.
    public init(name: String, pool: SSHSessionPool) {
        self.name = name
        self.pool = pool
    }

    /// Connects to `options` (see `SSHSession.connect`) and returns the target named `name`.
    public static func connect(name: String, options: SSHConnectOptions, maxSessions: Int = 4) async throws -> SSHTarget {
        SSHTarget(name: name, pool: try await SSHSessionPool.connect(name: name, options: options, limit: maxSessions))
    }

    /// Runs `command` remotely; see `Target.run`. `onOutput` is called on the session's queue,
    /// one call at a time, and every call has happened by the time `run` returns.
    ///
    /// - Throws: `TargetError` when the channel cannot be opened or the connection breaks
    ///   (never hangs: a broken connection ends the socket wait); `CancellationError` after a
    ///   cancelled command was signalled and its channel closed.
    public func run(_ command: Command, onOutput: @escaping @Sendable (OutputLine) -> Void) async throws -> CommandResult {
        try Task.checkCancellation()
        let line = try Self.remoteCommandLine(command, target: name)
        let cancel = try CancelPipe(target: name)
        let (result, ending) = try await withTaskCancellationHandler {
            try await pool.withSession { session in try await session.perform { session in
                let channel = try session.guarded { try SSHChannel(session: session, command: line) }
                var loop = RemoteCommandLoop(channel: channel, command: command, cancel: cancel, onOutput: onOutput)
                return try loop.run()
            } }
        } onCancel: {
            cancel.signal()
        }
        if ending == .cancelled { throw CancellationError() }
        return result
    }

    /// The command line the remote login shell runs for `command`.
    static func remoteCommandLine(_ command: Command, target: String) throws -> String {
        // The login shell (sshd made it a session and process group leader) first reports its
        // pid, the group id, on stderr as a marker line that `ProcessGroupMarker` strips again:
        // timeouts and cancellation kill that group from a second channel, since OpenSSH
        // delivers signal requests to the login shell alone. Then it sets the environment,
        // enters the directory and execs the command, so the command keeps the group, the
        // channel's stdin and the pid the signal requests go to.
        var line = "printf '\\001runner-pgid:%s\\n' \"$$\" >&2; "
        for (key, value) in command.environment.sorted(by: { $0.key < $1.key }) {
            guard ShellQuote.isVariableName(key) else {
                throw TargetError(target: target, "invalid environment variable name '\(key)'")
            }
            line += "\(key)=\(ShellQuote.quote(value)) && export \(key) && "
        }
        if let directory = command.workingDirectory { line += "cd \(ShellQuote.quote(directory)) && " }
        switch command.executable {
        case .shell(let script):
            line += "exec /bin/sh -c \(ShellQuote.quote(script))"
        case .argv(let argv):
            guard let first = argv.first, !first.isEmpty else { throw TargetError(target: target, "empty argv") }
            line += "exec \(ShellQuote.join(argv))"
        }
        // sshd hands the line to the login shell as one argument: the kernel refuses more.
        guard line.utf8.count < CommandSize.maxString else {
            throw TargetError(target: target, CommandSize.remoteTooLong(command, bytes: line.utf8.count))
        }
        return line
    }

    /// Writes `contents` to `path` atomically over SFTP; see `SFTPFiles.write`. Like every
    /// blocking exchange, it fails instead of hanging when the server stops answering.
    public func writeFile(_ path: String, contents: [UInt8], mode: Int) async throws {
        try await pool.withSession { try await $0.perform { session in
            try session.guarded { try SFTPFiles(session: session).write(path, contents: contents, mode: mode) }
        } }
    }

    /// Reads the whole file at `path` over SFTP; fails when it is missing or larger than `limit` bytes.
    public func readFile(_ path: String, limit: Int) async throws -> [UInt8] {
        try await pool.withSession { try await $0.perform { session in
            try session.guarded { try SFTPFiles(session: session).read(path, limit: limit) }
        } }
    }
}
