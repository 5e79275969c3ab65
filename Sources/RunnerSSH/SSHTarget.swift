import RunnerCore

/// A host reached over SSH: commands run on channels of one shared `SSHSession`, files move
/// over SFTP.
///
/// Commands run through the remote user's login shell, which must be POSIX (`sh`, `bash`,
/// `dash`, `zsh`): environment and working directory are applied by prefixing the command
/// (`cd 'dir' && env 'K=v' sh -c 'script'`), so the server's `AcceptEnv` does not matter.
/// Timeouts and cancellation send a TERM signal request (OpenSSH ≥ 7.9 honours it), which a
/// small shell wrapper passes on to the command's whole process group; after `killGrace` a
/// KILL request follows (it reaches only the wrapper) and the channel is closed.
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
                let channel = try SSHChannel(session: session, command: line)
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
        var words: [String] = []
        if !command.environment.isEmpty {
            words.append("env")
            for (key, value) in command.environment.sorted(by: { $0.key < $1.key }) {
                guard isVariableName(key) else {
                    throw TargetError(target: target, "invalid environment variable name '\(key)'")
                }
                words.append(ShellQuote.quote("\(key)=\(value)"))
            }
        }
        switch command.executable {
        case .shell(let script):
            words += ["sh", "-c", ShellQuote.quote(script)]
        case .argv(let argv):
            guard let first = argv.first, !first.isEmpty else { throw TargetError(target: target, "empty argv") }
            words.append(ShellQuote.join(argv))
        }
        // sshd signals only the login shell, so the shell stays as a wrapper that passes TERM
        // on to its whole process group (sshd made it a group leader); the command runs in the
        // background with the channel's stdin (fd 3), as asynchronous lists get /dev/null.
        let cd = command.workingDirectory.map { "cd \(ShellQuote.quote($0)) && " } ?? ""
        // First, the process group id (sshd made the login shell a session leader) goes to
        // stderr as a marker line, which `ProcessGroupMarker` strips: a timeout kills that
        // group from a second channel, because OpenSSH delivers signal requests to the
        // login shell alone.
        let marker = "printf '\\001runner-pgid:%s\\n' \"$$\" >&2; "
        return marker + "exec 3<&0 && trap 'trap - TERM; kill -TERM 0' TERM && \(cd){ \(words.joined(separator: " ")) <&3 3<&- & } && wait $!"
    }

    private static func isVariableName(_ key: String) -> Bool {
        guard let first = key.utf8.first, first == UInt8(ascii: "_") || (first | 0x20) >= UInt8(ascii: "a") && (first | 0x20) <= UInt8(ascii: "z") else {
            return false
        }
        return key.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Writes `contents` to `path` atomically over SFTP; see `SFTPFiles.write`.
    public func writeFile(_ path: String, contents: [UInt8], mode: Int) async throws {
        try await pool.withSession { try await $0.perform { try SFTPFiles(session: $0).write(path, contents: contents, mode: mode) } }
    }

    /// Reads the whole file at `path` over SFTP; fails when it is missing or larger than `limit` bytes.
    public func readFile(_ path: String, limit: Int) async throws -> [UInt8] {
        try await pool.withSession { try await $0.perform { try SFTPFiles(session: $0).read(path, limit: limit) } }
    }
}
