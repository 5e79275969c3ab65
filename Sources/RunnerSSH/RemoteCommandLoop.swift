import CLibSSH
import RunnerCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Drives one remote command to its end on the session's queue: writes stdin as the channel
/// window allows, reads stdout and stderr, and sleeps in `poll` on the session socket and the
/// cancellation pipe (never busy-waits).
struct RemoteCommandLoop {
    enum Ending { case finished, timedOut, cancelled }

    let channel: SSHChannel
    let command: Command
    let cancel: CancelPipe
    let onOutput: @Sendable (OutputLine) -> Void
    var stdout: OutputCapture
    var stderr: OutputCapture

    init(channel: SSHChannel, command: Command, cancel: CancelPipe, onOutput: @escaping @Sendable (OutputLine) -> Void) {
        self.channel = channel
        self.command = command
        self.cancel = cancel
        self.onOutput = onOutput
        stdout = OutputCapture(.stdout, limit: command.outputLimit)
        stderr = OutputCapture(.stderr, limit: command.outputLimit)
    }

    /// Runs to the end; throws `TargetError` when the connection breaks.
    mutating func run() throws -> (CommandResult, Ending) {
        let clock = ContinuousClock()
        let start = clock.now
        let session = channel.session
        var stdin = command.stdin ?? []
        var stdinOffset = 0
        var eofSent = false
        var ending = Ending.finished
        var stopDeadline: ContinuousClock.Instant? = command.timeout.map { start + $0 }
        var stopStage = 0  // 0 running, 1 TERM sent, 2 KILL sent
        var drainDeadline: ContinuousClock.Instant? = nil
        var remoteEOF = [false, false]
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var marker = ProcessGroupMarker()
        var probe = KeepaliveProbe(session: session, now: start)
        var killers: [SSHChannel] = []

        // libssh reads packets only when asked: once both streams hit EOF no read call pumps
        // the socket any more, so the wait below is `ssh_event_dopoll`, which processes what
        // arrives (exit status, close) and also wakes on the cancellation pipe.
        guard let event = ssh_event_new() else { throw session.failure("ssh_event_new") }
        defer { ssh_event_free(event) }
        try session.check(ssh_event_add_session(event, session.raw), "ssh_event_add_session")
        defer { _ = ssh_event_remove_session(event, session.raw) }
        var watchingCancel = runner_ssh_event_add_wakeup(event, cancel.readFD) == SSH_OK

        while true {
            // Output first: everything libssh has already buffered.
            var gotData = false
            for (index, isStderr) in [(0, Int32(0)), (1, Int32(1))] where !remoteEOF[index] {
                let count = buffer.withUnsafeMutableBytes {
                    ssh_channel_read_nonblocking(channel.raw, $0.baseAddress, UInt32($0.count), isStderr)
                }
                if count > 0 {
                    gotData = true
                    buffer.withUnsafeBytes { bytes in
                        let chunk = UnsafeRawBufferPointer(rebasing: bytes[..<Int(count)])
                        if isStderr == 0 {
                            stdout.append(chunk, emit: onOutput)
                        } else {
                            marker.filter(chunk).withUnsafeBytes { stderr.append($0, emit: onOutput) }
                        }
                    }
                } else if count == SSH_EOF {
                    remoteEOF[index] = true
                } else if count < 0 {
                    throw lost(session, "ssh_channel_read_nonblocking")
                }
            }
            // Then stdin, no more than the remote window takes, so a write never blocks.
            if !eofSent, stdinOffset < stdin.count, ssh_channel_is_open(channel.raw) != 0 {
                let window = Int(ssh_channel_window_size(channel.raw))
                let size = min(window, stdin.count - stdinOffset, 1 << 15)
                if size > 0 {
                    let written = stdin.withUnsafeBytes {
                        ssh_channel_write(channel.raw, $0.baseAddress! + stdinOffset, UInt32(size))
                    }
                    guard written >= 0 else { throw lost(session, "ssh_channel_write") }
                    stdinOffset += Int(written)
                    gotData = true
                }
            }
            if !eofSent, stdinOffset >= stdin.count {
                if ssh_channel_is_open(channel.raw) != 0 { _ = ssh_channel_send_eof(channel.raw) }
                eofSent = true
                stdin = []
            }
            if gotData { continue }

            // Finished: the remote closed the channel, or both streams ended and the exit
            // status is in, or the command exited and stray output was drained for 100 ms.
            if ssh_channel_is_closed(channel.raw) != 0 || ssh_channel_is_eof(channel.raw) != 0 && channel.hasExited && remoteEOF == [true, true] {
                break
            }
            if channel.hasExited, drainDeadline == nil { drainDeadline = clock.now + .milliseconds(100) }
            if let drain = drainDeadline, clock.now >= drain { break }
            guard session.isConnected else { throw lost(session, "connection") }

            // Timeout or cancellation: TERM, then KILL after the grace period, then give up.
            if ending == .finished, cancel.isSignalled { ending = .cancelled; stopDeadline = clock.now }
            if let deadline = stopDeadline, clock.now >= deadline {
                if ending == .finished { ending = .timedOut }
                stopStage += 1
                if stopStage == 1 {
                    try signalGroup("TERM", marker.processGroup, event: event, killers: &killers)
                    stopDeadline = clock.now + command.killGrace
                } else if stopStage == 2 {
                    try signalGroup("KILL", marker.processGroup, event: event, killers: &killers)
                    stopDeadline = clock.now + .seconds(1)
                } else {
                    break
                }
            }

            // Sleep until the socket has data, cancellation, or the next deadline (at most 1 s).
            if ending != .finished, watchingCancel {
                _ = ssh_event_remove_fd(event, cancel.readFD)
                watchingCancel = false
            }
            var wait = Duration.seconds(1)
            for deadline in [stopDeadline, drainDeadline, probe.due].compactMap({ $0 }) { wait = min(wait, deadline - clock.now) }
            let milliseconds = Int32(max(0, min(1000, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000 + 1)))
            if ssh_event_dopoll(event, milliseconds) == SSH_ERROR, !session.isConnected {
                throw lost(session, "ssh_event_dopoll")
            }
            // A silent server: probe it (which also keeps NAT state), give up after ~4 intervals.
            try probe.check(session, now: clock.now)
        }
        marker.finish().withUnsafeBytes { stderr.append($0, emit: onOutput) }
        stdout.finish(emit: onOutput)
        stderr.finish(emit: onOutput)
        let signal = channel.exitSignal
        let result = CommandResult(
            exitCode: signal == nil ? channel.exitStatus : nil, signal: signal,
            stdout: stdout.text, stderr: stderr.text,
            stdoutTruncated: stdout.truncated, stderrTruncated: stderr.truncated,
            timedOut: ending == .timedOut, duration: clock.now - start)
        return (result, ending)
    }

    /// Signals the remote command's process group: a `signal` channel request (which
    /// OpenSSH honours for the login shell only, and not every server supports), then
    /// `kill -SIG -PGID` (dash's kill takes no `--`) on a second channel of the same session, which reaches every
    /// process of the group. The session leaves the event while the channel opens, since
    /// libssh's blocking requests poll the session on their own.
    private func signalGroup(_ name: String, _ group: Int?, event: ssh_event, killers: inout [SSHChannel]) throws {
        channel.sendSignal(name)
        guard let group else { return }
        let session = channel.session
        _ = ssh_event_remove_session(event, session.raw)
        defer { _ = ssh_event_add_session(event, session.raw) }
        do {
            killers.append(try SSHChannel(session: session, command: "kill -\(name) -\(group) 2>/dev/null"))
        } catch {
            guard session.isConnected else { throw lost(session, "kill channel") }
        }
    }

    private func lost(_ session: SSHSession, _ function: String) -> TargetError {
        let base = session.failure(function)
        return TargetError(target: base.target, "connection lost while running a command (\(base.message))")
    }
}
