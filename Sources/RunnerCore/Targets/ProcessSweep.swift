#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds this user's processes by the tag in their environment and stops them, the way Jenkins'
/// ProcessTreeKiller does: every process a run starts carries `RUNNER_PROCESS_TAG` (see
/// `RunProcesses`), and children inherit it, so the search reaches what a process-group signal
/// cannot: `setsid`, double forks, `nohup … &`, anything re-parented to init.
///
/// Only processes of the runner's own effective user are considered (`/proc/<pid>` owned by it),
/// so another user's processes are never signalled, whatever their environment says. A process
/// is signalled through a pidfd opened *before* its environment is read, so a pid that was
/// recycled in between is never hit: the pidfd names the process that was read or a dead one.
/// (Without pidfds — kernels before 5.3, glibc before 2.36 — `kill(pid)` is used, which leaves
/// that window open for the microseconds between the read and the signal.)
///
/// Linux only (it reads `/proc`); elsewhere nothing is ever found.
enum ProcessSweep {
    /// A process found by a search.
    struct Found: Sendable, Hashable, CustomStringConvertible {
        var pid: pid_t
        /// Its command name (`/proc/<pid>/comm`).
        var name: String

        var description: String { "\(pid) (\(name))" }
    }

    /// This user's processes, the runner excepted, with a tag token for which `matches` is true.
    static func find(_ matches: (Substring) -> Bool) -> [Found] {
        let candidates = scan(matches)
        defer { candidates.forEach { $0.close() } }
        return candidates.map(\.found)
    }

    /// Stops every process `matches` selects: SIGTERM (and SIGCONT, so stopped ones can act on
    /// it) to each as it is found, SIGKILL to whatever is still there after `grace`. Searches
    /// again until nothing matches, since a process may fork while it is being stopped; gives up
    /// on processes that outlive SIGKILL by two seconds (uninterruptible sleep). Returns every
    /// process it signalled.
    @discardableResult
    static func stop(_ matches: (Substring) -> Bool, grace: Duration) -> [Found] {
        let clock = ContinuousClock()
        let killAt = clock.now + grace
        let giveUpAt = killAt + .seconds(2)
        var signalled: [pid_t: Found] = [:]
        while true {
            let now = clock.now
            let killing = now >= killAt
            if killing && now >= giveUpAt { break }
            let current = scan(matches)
            if current.isEmpty { break }
            for candidate in current {
                if killing {
                    candidate.signal(SIGKILL)
                } else if signalled[candidate.found.pid] == nil {
                    candidate.signal(SIGTERM)
                    candidate.signal(SIGCONT)
                }
                signalled[candidate.found.pid] = candidate.found
                candidate.close()
            }
            usleep(killing ? 5_000 : 20_000)
        }
        return signalled.values.sorted { $0.pid < $1.pid }
    }

    /// The value of `RUNNER_PROCESS_TAG` in an environment block (`KEY=value\0…`), if present.
    static func tagValue(inEnvironment block: [UInt8]) -> Substring? {
        let prefix = Array((RunProcesses.variable + "=").utf8)
        var start = 0
        while start < block.count {
            let end = block[start...].firstIndex(of: 0) ?? block.count
            if end - start >= prefix.count, block[start..<(start + prefix.count)].elementsEqual(prefix) {
                return Substring(decoding: block[(start + prefix.count)..<end], as: UTF8.self)
            }
            start = end + 1
        }
        return nil
    }

    /// A process whose tag matched, with the pidfd that pins its identity.
    private struct Candidate {
        var found: Found
        var pidfd: Int32?

        func signal(_ signal: Int32) {
            #if os(Linux)
            if let pidfd, let send = LibC.pidfdSendSignal {
                _ = send(pidfd, signal, nil, 0)
                return
            }
            #endif
            _ = kill(found.pid, signal)
        }

        func close() {
            if let pidfd { _ = closeFD(pidfd) }
        }
    }

    private static func scan(_ matches: (Substring) -> Bool) -> [Candidate] {
        #if os(Linux)
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        let me = getpid()
        let user = geteuid()
        var out: [Candidate] = []
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), pid > 0, pid != me else { continue }
            var info = stat()
            guard stat("/proc/\(pid)", &info) == 0, info.st_uid == user else { continue }
            var pidfd: Int32?
            if let pidfdOpen = LibC.pidfdOpen {
                let fd = pidfdOpen(pid, 0)
                if fd >= 0 { pidfd = fd } else if errno == ESRCH { continue }  // gone already
                // Any other failure (ENOSYS: a kernel before 5.3): kill(pid) it is.
            }
            let candidate = Candidate(found: Found(pid: pid, name: ""), pidfd: pidfd)
            guard let environment = readProcFile(pid, "environ", limit: 1 << 22),
                  let tag = tagValue(inEnvironment: environment),
                  tag.split(separator: " ").contains(where: matches) else {
                candidate.close()
                continue
            }
            var found = candidate
            let comm = readProcFile(pid, "comm", limit: 64) ?? Array("?".utf8)
            found.found.name = String(decoding: comm.last == 0x0A ? comm.dropLast() : comm[...], as: UTF8.self)
            out.append(found)
        }
        return out
        #else
        return []
        #endif
    }

    /// The contents of `/proc/<pid>/<file>`, or nil when it cannot be read (gone, not ours, too large).
    private static func readProcFile(_ pid: pid_t, _ file: String, limit: Int) -> [UInt8]? {
        try? LocalFiles.read("/proc/\(pid)/\(file)", limit: limit, target: "local")
    }
}

private func closeFD(_ fd: Int32) -> Int32 { close(fd) }
