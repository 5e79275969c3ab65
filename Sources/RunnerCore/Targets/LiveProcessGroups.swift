#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The process groups `LocalTarget` has started and not yet reaped, so that a runner forced to
/// exit at once (a second Ctrl-C) does not leave commands running behind it.
final class LiveProcessGroups: Sendable {
    static let shared = LiveProcessGroups()
    private let groups = Mutex<Set<pid_t>>([])

    func insert(_ pid: pid_t) { _ = groups.withLock { $0.insert(pid) } }
    func remove(_ pid: pid_t) { _ = groups.withLock { $0.remove(pid) } }

    /// Sends `signal` to every live group; returns how many there were.
    @discardableResult
    func signalAll(_ signal: Int32) -> Int {
        let live = groups.withLock { $0 }
        for pid in live { _ = kill(-pid, signal) }
        return live.count
    }
}

extension LocalTarget {
    /// SIGKILLs every command this process started that is still running (for an exit that
    /// cannot wait for cancellation to unwind). Returns how many process groups there were.
    @discardableResult
    public static func killAllProcessGroups() -> Int {
        LiveProcessGroups.shared.signalAll(SIGKILL)
    }
}
