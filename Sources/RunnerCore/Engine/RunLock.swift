import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A `concurrency:` lock shared by every runner process on the machine.
///
/// It is an `flock` on a file in the state directory, named by the SHA-256 of the key (a key
/// may hold a param, even a secret one; the file name shows none of it). The kernel releases an
/// `flock` when the last descriptor of it is closed, so a lock is never left stale. A run's
/// commands inherit its lock descriptors (`RunProcesses`), so the lock stays held while anything
/// the run started still runs, even when the runner itself was killed with SIGKILL.
///
/// The holder writes who it is into the file (run id, pipeline name, pid, start time and its
/// process tag; never the key), so that waiters can say who they wait for, and, when that
/// runner is gone, which of its processes still hold the lock.
public final class RunLock: Sendable {
    /// Longest key, in bytes.
    public static let maxKeyLength = 255

    public let key: String
    private let fd: Int32
    private let processes: RunProcesses?
    private let released = Atomic<Bool>(false)

    private init(key: String, fd: Int32, processes: RunProcesses?) {
        self.key = key
        self.fd = fd
        self.processes = processes
    }

    deinit { release() }

    /// Gives up this process's hold on the lock (also done when the object goes away or the
    /// process dies). Commands of the run that are still running keep it held until they exit.
    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if let processes { processes.close(fd) } else { close(fd) }
    }

    public enum Failure: Error, CustomStringConvertible {
        case held(key: String, holder: String)
        case invalidKey(String)
        case io(String)

        public var description: String {
            switch self {
            case .held(let key, let holder): "lock '\(key)' is held by \(holder) (--no-wait given)"
            case .invalidKey(let message), .io(let message): message
            }
        }
    }

    /// Takes the lock, waiting (polling every 200 ms, cancellable) unless `wait` is false.
    /// `onWait` is called once with a description of the holder when the lock is busy.
    /// With `processes`, every command the run starts from now on inherits the lock.
    public static func acquire(key: String, directory: String, holder: String, processes: RunProcesses? = nil,
                               wait: Bool, onWait: @Sendable (String) -> Void) async throws -> RunLock {
        if let problem = problem(withKey: key) { throw Failure.invalidKey(problem) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + fileName(for: key)
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.io("cannot open lock file \(path): \(String(cString: strerror(errno)))") }
        if fd < 3 {
            // Descriptors 0–2 are the commands' stdin, stdout and stderr: a lock there could not be inherited.
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
            close(fd)
            guard moved >= 0 else { throw Failure.io("cannot open lock file \(path): \(String(cString: strerror(errno)))") }
            fd = moved
        }
        var announced = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let message = String(cString: strerror(errno))
                close(fd)
                throw Failure.io("cannot lock \(path): \(message)")
            }
            guard wait else {
                close(fd)
                throw Failure.held(key: key, holder: describeHolder(path))
            }
            if !announced {
                onWait(describeHolder(path))
                announced = true
            }
            do { try await Task.sleep(for: .milliseconds(200)) } catch {
                close(fd)
                throw error
            }
        }
        ftruncate(fd, 0)
        var record = holder + "\npid: \(getpid())\n"
        if let processes { record += "processes: \(processes.token)\n" }
        let bytes = Array(record.utf8)
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        processes?.inherit(fd)
        return RunLock(key: key, fd: fd, processes: processes)
    }

    /// Why `key` cannot be a lock key, or nil when it can.
    public static func problem(withKey key: String) -> String? {
        if key.allSatisfy(\.isWhitespace) { return "the concurrency key is empty" }
        let length = key.utf8.count
        if length > maxKeyLength { return "the concurrency key is \(length) bytes long; the limit is \(maxKeyLength)" }
        return nil
    }

    /// What can be known about a `concurrency:` template before it is rendered: a literal key
    /// must be a valid key, and literal text alone must not pass the length limit.
    public static func problem(withTemplate template: Template) -> String? {
        if let literal = template.literal { return problem(withKey: literal) }
        let fixed = template.parts.reduce(0) { sum, part in
            if case .text(let text) = part { sum + text.utf8.count } else { sum }
        }
        return fixed > maxKeyLength ? "the concurrency key's fixed text is \(fixed) bytes long; the limit is \(maxKeyLength)" : nil
    }

    /// The lock file's name: the SHA-256 of the key, so that no part of the key shows and any
    /// key fits in a file name.
    public static func fileName(for key: String) -> String {
        SHA256Digest.hex(Array(key.utf8)) + ".lock"
    }

    /// Who holds the lock at `path`, for messages. When the runner that took it is gone, the
    /// processes it left behind hold it; they are named when this user can see them.
    static func describeHolder(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let description = lines.isEmpty ? "another runner process" : lines.removeFirst()
        func field(_ name: String) -> String? {
            lines.first { $0.hasPrefix(name + ": ") }.map { String($0.dropFirst(name.count + 2)) }
        }
        guard let pid = field("pid").flatMap({ pid_t($0) }), pid > 0, kill(pid, 0) != 0, errno == ESRCH else {
            return description
        }
        let left = field("processes").map { RunProcesses.running(ofRun: $0) } ?? []
        if left.isEmpty {
            return "\(description); that runner is gone, but a process it started still holds the lock"
        }
        return "\(description); that runner is gone, but processes it started still hold the lock until they exit: "
            + left.joined(separator: ", ")
    }
}
