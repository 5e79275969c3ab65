import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process that runs a run, as recorded with it, so that a later runner can tell whether
/// that process is still there: its pid, the machine's boot id and the process's start time.
///
/// A pid alone is not enough: after a reboot or once pids wrap, another process may have it.
/// The boot id (`/proc/sys/kernel/random/boot_id`) changes at every boot, and the start time
/// (field 22 of `/proc/<pid>/stat`, clock ticks since boot) tells a reused pid from the holder.
/// Where `/proc` is missing (macOS), the boot id and start time are `nil` and only the pid is
/// compared.
public struct RunHolder: Sendable, Hashable {
    public var pid: Int32
    public var bootID: String?
    public var startTime: Int64?

    public init(pid: Int32, bootID: String?, startTime: Int64?) {
        self.pid = pid
        self.bootID = bootID
        self.startTime = startTime
    }

    /// This process.
    public static var current: RunHolder {
        let pid = getpid()
        return RunHolder(pid: pid, bootID: bootID(), startTime: startTime(of: pid))
    }

    /// Whether the process this describes is still running: same boot, pid alive, and (where
    /// both are known) the same start time.
    public var isAlive: Bool {
        if let recorded = bootID, let now = Self.bootID(), recorded != now { return false }
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        if let recorded = startTime, let now = Self.startTime(of: pid), recorded != now { return false }
        return true
    }

    /// The machine's boot id, or `nil` without `/proc`.
    static func bootID() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty ? nil : id
    }

    /// When process `pid` started, in clock ticks since boot, or `nil` if it is gone or there is no `/proc`.
    static func startTime(of pid: Int32) -> Int64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so fields are
        // counted after its last `)`; field 3 (state) is the first there, so 22 is the 20th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? Int64(fields[19]) : nil
    }
}
