import RunnerCore

/// Notices a server that stopped answering while a command runs silently (a SIGSTOPped
/// sshd, a firewall that now drops packets, a host that froze): TCP still looks fine in those
/// cases, so only the SSH layer can tell.
///
/// After every `interval` in which nothing at all arrived from the server, a keepalive request
/// that wants a reply goes out (OpenSSH answers it, even with a refusal). When `maxUnanswered`
/// of them got nothing back and one more interval passed — about four intervals of silence —
/// the connection counts as lost. Anything the server sends (output, window adjustments,
/// replies) resets the count. Used on the session's queue only.
struct KeepaliveProbe {
    static let maxUnanswered = 3

    let interval: Duration
    private var lastHeard: ContinuousClock.Instant
    private var bytesSeen: UInt64
    private var unanswered = 0
    /// When the next probe (or the verdict) is due; the command loop wakes up for it.
    private(set) var due: ContinuousClock.Instant

    init(session: SSHSession, now: ContinuousClock.Instant) {
        interval = session.keepalive
        lastHeard = now
        bytesSeen = session.bytesReceived
        due = now + interval
    }

    /// Records what arrived since the last call, sends a keepalive when one is due, and throws
    /// `TargetError` ("connection lost: …") when the server left `maxUnanswered` unanswered.
    mutating func check(_ session: SSHSession, now: ContinuousClock.Instant) throws {
        let bytes = session.bytesReceived
        if bytes != bytesSeen {
            bytesSeen = bytes
            lastHeard = now
            unanswered = 0
            due = now + interval
        }
        guard now >= due else { return }
        if unanswered >= Self.maxUnanswered {
            let silence = (now - lastHeard).components.seconds
            session.abandon()
            throw TargetError(target: session.name, """
                connection lost: \(session.name) did not answer \(unanswered) keepalives in \(silence)s \
                (keepalive: \(DurationParser.format(interval))) while running a command
                """)
        }
        session.sendKeepalive()
        unanswered += 1
        due = now + interval
    }
}

