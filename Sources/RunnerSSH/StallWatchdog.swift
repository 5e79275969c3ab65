import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Breaks a blocking libssh exchange that gets no answer: libssh 0.10's SFTP calls wait for
/// their reply in a loop that ignores the session timeout, so a server that stopped answering
/// (SIGSTOPped, or behind a firewall that drops packets) would hang the session's queue forever.
///
/// While armed, the watchdog shuts the session's socket down once `limit` has passed since the
/// last `arm()`; the blocked libssh call then sees the connection end and fails, and the
/// caller reports `fired`. It acts on its own duplicate of the socket descriptor, so it can
/// never shut down an unrelated socket that reused the session's descriptor number.
final class StallWatchdog: Sendable {
    let limit: Duration

    private struct State {
        var fd: Int32 = -1
        var generation = 0
        var armed = false
        var fired = false
    }
    private let state = Mutex(State())

    init(limit: Duration) {
        self.limit = limit
    }

    deinit {
        detach()
    }

    /// Closes the duplicate descriptor; the watchdog can no longer fire.
    func detach() {
        state.withLock { state in
            if state.fd >= 0 { _ = close(state.fd) }
            state.fd = -1
        }
    }

    /// Watches the connected socket `fd` (duplicated; the session keeps its own).
    func attach(_ fd: Int32) {
        guard fd >= 0 else { return }
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        state.withLock { state in
            if state.fd >= 0 { _ = close(state.fd) }
            state.fd = copy
        }
    }

    /// Starts (or restarts) the countdown: called before a blocking exchange and after each
    /// step of a long transfer, so only a stall, never a long transfer, trips it.
    func arm() {
        let generation = state.withLock { state -> Int in
            state.armed = true
            state.generation += 1
            return state.generation
        }
        let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds))) { [weak self] in
            self?.expire(generation)
        }
    }

    func disarm() {
        state.withLock { $0.armed = false }
    }

    /// Whether the connection was shut down (by the watchdog, or by `cut()`).
    var fired: Bool { state.withLock { $0.fired } }

    /// Shuts the connection down now: for a server found dead by other means (keepalives).
    /// libssh notices at its next read; nothing is freed under the session's channels, which
    /// `ssh_disconnect` would do.
    func cut() {
        state.withLock { Self.cut(&$0) }
    }

    private func expire(_ generation: Int) {
        state.withLock { state in
            guard state.armed, state.generation == generation else { return }
            Self.cut(&state)
        }
    }

    private static func cut(_ state: inout State) {
        guard state.fd >= 0, !state.fired else { return }
        state.fired = true
        _ = shutdown(state.fd, Int32(SHUT_RDWR))
    }
}
