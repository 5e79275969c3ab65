#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The process groups `LocalTarget` has started and not yet reaped, and the runs under way in
/// this process, so that a runner forced to exit at once (a second Ctrl-C) does not leave
/// commands running behind it.
final class LiveProcessGroups: Sendable {
    static let shared = LiveProcessGroups()
    private let groups = Mutex<Set<pid_t>>([])
    private let runs = Mutex<Set<String>>([])

    func insert(_ pid: pid_t) { _ = groups.withLock { $0.insert(pid) } }
    func remove(_ pid: pid_t) { _ = groups.withLock { $0.remove(pid) } }

    /// A run's `RunProcesses` token, registered while the run exists.
    func insert(run token: String) { _ = runs.withLock { $0.insert(token) } }
    func remove(run token: String) { _ = runs.withLock { $0.remove(token) } }

    /// Sends `signal` to every live group; returns how many there were.
    @discardableResult
    func signalAll(_ signal: Int32) -> Int {
        let live = groups.withLock { $0 }
        for pid in live { _ = kill(-pid, signal) }
        return live.count
    }

    /// SIGKILLs every process of every live run (what left its group included).
    func killAllRuns() {
        RunProcesses.kill(runs: Array(runs.withLock { $0 }))
    }
}

extension LocalTarget {
    /// SIGKILLs every command this process started that is still running, and every process
    /// those commands left behind (for an exit that cannot wait for cancellation to unwind).
    /// Returns how many commands (process groups) were running.
    @discardableResult
    public static func killAllProcessGroups() -> Int {
        let count = LiveProcessGroups.shared.signalAll(SIGKILL)
        LiveProcessGroups.shared.killAllRuns()
        return count
    }
}
