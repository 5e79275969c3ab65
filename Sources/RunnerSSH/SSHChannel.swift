import CLibSSH
import RunnerCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One session channel running one remote command. Used only on its session's queue.
final class SSHChannel {
    let session: SSHSession
    let raw: ssh_channel
    /// Filled in by libssh's callbacks; freed after the channel.
    let exit: UnsafeMutablePointer<runner_ssh_exit_state>

    /// Opens a session channel and starts `command` on it.
    init(session: SSHSession, command: String) throws {
        guard let raw = ssh_channel_new(session.raw) else { throw session.failure("ssh_channel_new") }
        self.session = session
        self.raw = raw
        exit = .allocate(capacity: 1)
        exit.initialize(to: runner_ssh_exit_state())
        // From here on, deinit frees the channel if anything below throws.
        try session.check(runner_ssh_watch_exit(raw, exit), "ssh_set_channel_callbacks")
        try Self.answered(ssh_channel_open_session(raw), "ssh_channel_open_session", session)
        try Self.answered(ssh_channel_request_exec(raw, command), "ssh_channel_request_exec", session)
    }

    /// Checks a blocking request's `rc`: libssh returns `SSH_AGAIN` when the server left it
    /// unanswered for the session timeout, which means a server that stopped answering.
    private static func answered(_ rc: Int32, _ function: String, _ session: SSHSession) throws {
        if rc == SSH_AGAIN { throw session.stalled(function) }
        try session.check(rc, function)
    }

    deinit {
        // First unhook the callbacks: a channel the server has not closed yet (a kill channel,
        // a timed-out command) outlives ssh_channel_free inside libssh, and its late
        // exit-status must not reach `exit` once it is freed (ASan found that use after free).
        runner_ssh_unwatch_exit(raw, exit)
        if ssh_channel_is_closed(raw) == 0 { _ = ssh_channel_close(raw) }
        ssh_channel_free(raw)
        exit.deallocate()
    }

    var exitStatus: Int32? { exit.pointee.has_status != 0 ? exit.pointee.status : nil }

    var exitSignal: Int32? {
        guard exit.pointee.has_signal != 0 else { return nil }
        let name = withUnsafeBytes(of: exit.pointee.signal) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return signalNumbers[name] ?? -1
    }

    var hasExited: Bool { exit.pointee.has_status != 0 || exit.pointee.has_signal != 0 }

    /// Asks the server to signal the command's process group (OpenSSH ≥ 7.9); best effort.
    func sendSignal(_ name: String) {
        _ = ssh_channel_request_send_signal(raw, name)
    }
}

/// RFC 4254 signal names (without `SIG`) to Linux signal numbers.
let signalNumbers: [String: Int32] = [
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9, "USR1": 10,
    "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15,
]

/// The read end becomes readable when the task running a command is cancelled, which wakes
/// the `poll` of the command loop. Closed only when the last reference goes, so the
/// cancellation handler never writes to a closed (or reused) descriptor.
final class CancelPipe: Sendable {
    let readFD: Int32
    private let writeFD: Int32

    init(target: String) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw TargetError(target: target, "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        readFD = fds[0]
        writeFD = fds[1]
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    var isSignalled: Bool {
        var fd = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        return poll(&fd, 1, 0) > 0
    }

    deinit {
        _ = close(readFD)
        _ = close(writeFD)
    }
}
