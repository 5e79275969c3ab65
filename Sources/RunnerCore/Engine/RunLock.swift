import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `concurrency:` lock shared by every runner process on the machine.
///
/// It is an `flock` on a file in the state directory: the kernel releases it when the holder
/// exits or crashes, so a lock is never left stale. The holder writes who it is into the file
/// so that waiters can say who they wait for.
public final class RunLock: Sendable {
    public let key: String
    private let fd: Int32

    private init(key: String, fd: Int32) {
        self.key = key
        self.fd = fd
    }

    deinit { close(fd) }

    /// Releases the lock now (it is also released when the object goes away or the process dies).
    public func release() { _ = flock(fd, LOCK_UN) }

    public enum Failure: Error, CustomStringConvertible {
        case held(key: String, holder: String)
        case io(String)

        public var description: String {
            switch self {
            case .held(let key, let holder): "lock '\(key)' is held by \(holder) (--no-wait given)"
            case .io(let message): message
            }
        }
    }

    /// Takes the lock, waiting (polling every 200 ms, cancellable) unless `wait` is false.
    /// `onWait` is called once with a description of the holder when the lock is busy.
    public static func acquire(key: String, directory: String, holder: String, wait: Bool,
                               onWait: @Sendable (String) -> Void) async throws -> RunLock {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + fileName(for: key)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.io("cannot open lock file \(path): \(String(cString: strerror(errno)))") }
        var announced = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let message = String(cString: strerror(errno))
                close(fd)
                throw Failure.io("cannot lock \(path): \(message)")
            }
            let current = readHolder(path)
            guard wait else {
                close(fd)
                throw Failure.held(key: key, holder: current)
            }
            if !announced {
                onWait(current)
                announced = true
            }
            do { try await Task.sleep(for: .milliseconds(200)) } catch {
                close(fd)
                throw error
            }
        }
        ftruncate(fd, 0)
        let info = Array((holder + "\n").utf8)
        _ = info.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        return RunLock(key: key, fd: fd)
    }

    static func readHolder(_ path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return text.isEmpty ? "another runner process" : text
    }

    /// A file name safe for any key: readable characters kept, the rest hex-escaped.
    static func fileName(for key: String) -> String {
        var name = ""
        for byte in key.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") && !(name.isEmpty && c == ".") {
                name.append(c)
            } else {
                name += String(format: "%%%02X", byte)
            }
        }
        return name + ".lock"
    }
}
