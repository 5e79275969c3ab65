import Foundation

/// Faults a test can put a running server in, beyond `stop()` and `crash()`: a server that is
/// still there for TCP but no longer answers (frozen processes, or packets dropped).
extension SSHServer {
    /// Stops (SIGSTOP) every per-connection sshd process of this server: the kernel still
    /// accepts and acknowledges the client's packets, but nothing answers, as with a hung host.
    /// New connections still reach the listener. Returns the frozen pids; undo with
    /// `release(_:)`.
    @discardableResult
    public func freezeConnections() -> [pid_t] {
        guard let listener = listenerPID else { return [] }
        let frozen = Self.descendants(of: listener)
        for process in frozen { Glibc.kill(process, SIGSTOP) }
        return frozen
    }

    /// Kills frozen connection processes and lets them go (SIGKILL, then SIGCONT, which a
    /// stopped process needs to die), so no test leaves stopped processes behind.
    public func release(_ frozen: [pid_t]) {
        for process in frozen {
            Glibc.kill(process, SIGKILL)
            Glibc.kill(process, SIGCONT)
        }
    }

    /// Drops every packet to and from this server's port on loopback (iptables), until
    /// `undo` of the returned rule runs. Throws when iptables cannot be used here.
    public func dropPackets() throws -> PacketDrop {
        let rules = [["-p", "tcp", "-i", "lo", "--dport", "\(port)", "-j", "DROP"],
                     ["-p", "tcp", "-i", "lo", "--sport", "\(port)", "-j", "DROP"]]
        var added: [[String]] = []
        do {
            for rule in rules {
                try Self.run("/usr/sbin/iptables", ["-w", "-I", "INPUT"] + rule)
                added.append(rule)
            }
        } catch {
            PacketDrop(rules: added).undo()
            throw error
        }
        return PacketDrop(rules: added)
    }

    /// The processes below `root` (all sshd's children: monitors, sessions and their commands).
    static func descendants(of root: pid_t) -> [pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            parents[pid] = pid_t(stat[stat.index(close, offsetBy: 2)...].split(separator: " ")[1])
        }
        func isDescendant(_ pid: pid_t) -> Bool {
            var current = pid
            while let parent = parents[current], parent > 1 {
                if parent == root { return true }
                current = parent
            }
            return false
        }
        return parents.keys.filter(isDescendant)
    }
}

/// iptables rules added by `SSHServer.dropPackets()`; `undo()` deletes them.
public struct PacketDrop: Sendable {
    let rules: [[String]]

    public func undo() {
        for rule in rules { _ = try? SSHServer.run("/usr/sbin/iptables", ["-w", "-D", "INPUT"] + rule) }
    }
}
