#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine the runner itself runs on: commands are child processes, files are local files.
///
/// Each command is started with `posix_spawn` as the leader of a new process group, with
/// default signal dispositions and an empty signal mask (whatever the runner ignores or blocks
/// does not leak into it). A timeout or the cancellation of the calling task stops the whole
/// group: SIGTERM, then SIGKILL after `killGrace`.
///
/// A target made for a run (`processes`) also marks each command with the run's tag and hands it
/// the run's lock descriptors (see `RunProcesses`); then a timeout or cancellation also stops
/// what the command started outside its group (`setsid`, double forks), found by the tag.
/// Without one, processes that leave the group are out of reach.
///
/// The blocking work (`poll`, `read`, `waitpid`, `fsync`) runs on a dedicated thread per call,
/// never on Swift's cooperative pool; `onOutput` is called on that thread, one call at a time,
/// and every call has happened by the time `run` returns.
public struct LocalTarget: Target {
    /// Always `local`.
    /// `local`, or the inventory name of a host with `connection: local`.
    public let name: String
    /// The run whose commands this target starts, or nil for commands outside any run.
    public let processes: RunProcesses?

    /// The local target; it holds no state of its own, so any number of them can be used at once.
    public init(name: String = "local", processes: RunProcesses? = nil) {
        self.name = name
        self.processes = processes
    }

    /// Runs `command` to completion; see `Target.run`.
    ///
    /// `.shell` runs as `/bin/sh -c script`; `.argv` runs without a shell, its first element
    /// looked up in PATH (the command's own PATH when its environment sets one). Output lines
    /// stream to `onOutput` as they arrive (a slow callback slows the command down, as a full
    /// pipe would). When the command exits while a background process it started keeps its
    /// output open, output is drained for 100 ms more and the background process is left running
    /// (a run stops such leftovers when it ends: `RunProcesses.stopLeftovers()`).
    ///
    /// - Throws: `TargetError` when the command cannot be started (program not found, missing
    ///   working directory, …); `CancellationError` once a cancelled command's process group has
    ///   been stopped and the command reaped.
    public func run(
        _ command: Command, onOutput: @escaping @Sendable (OutputLine) -> Void
    ) async throws -> CommandResult {
        try Task.checkCancellation()
        let target = name
        let processes = self.processes
        let wake = try WakePipe(target: target)
        return try await withTaskCancellationHandler {
            let process = try ProcessRunner.spawn(command, target: target, processes: processes)
            return try await withCheckedThrowingContinuation { continuation in
                do {
                    try startThread(target: target) {
                        var runner = ProcessRunner(process, command: command, wakeFD: wake.readFD, onOutput: onOutput)
                        let result = withExtendedLifetime(wake) { runner.run() }
                        // A command that was stopped takes along what escaped its process group.
                        if let processes, let tag = process.tag, (try? result.get())?.timedOut != false {
                            processes.stopLeftovers(ofCommand: tag, grace: command.killGrace)
                        }
                        continuation.resume(with: result)
                    }
                } catch {
                    ProcessRunner.abandon(process)
                    continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            wake.signal()
        }
    }

    /// Writes `contents` to `path` atomically: a temporary file in the same directory (created
    /// with `mode`, then `fchmod`ed so the umask does not narrow it), `fsync`, `rename`.
    public func writeFile(_ path: String, contents: [UInt8], mode: Int) async throws {
        let target = name
        try await onDedicatedThread(target: target) {
            try LocalFiles.write(path, contents: contents, mode: mode, target: target)
        }
    }

    /// Reads the whole file at `path`; fails when it is missing or larger than `limit` bytes.
    public func readFile(_ path: String, limit: Int) async throws -> [UInt8] {
        let target = name
        return try await onDedicatedThread(target: target) {
            try LocalFiles.read(path, limit: limit, target: target)
        }
    }
}

/// Atomic writes and bounded reads of local files.
enum LocalFiles {
    static func write(_ path: String, contents: [UInt8], mode: Int, target: String) throws {
        func failure(_ what: String, _ code: Int32 = errno) -> TargetError {
            TargetError(target: target, "cannot write '\(path)': \(what)\(what.isEmpty ? "" : ": ")\(errorString(code))")
        }
        guard (0...0o7777).contains(mode) else {
            throw TargetError(target: target, "cannot write '\(path)': invalid mode \(String(mode, radix: 8))")
        }
        guard !path.isEmpty, !path.hasSuffix("/") else {
            throw TargetError(target: target, "cannot write '\(path)': not a file path")
        }
        // The temporary file lives next to the target, so rename(2) replaces it atomically.
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let stem = base.utf8.count <= 100 ? base : "runner"

        var temporary = ""
        var fd: Int32 = -1
        for _ in 0..<8 {
            temporary = "\(directory).\(stem).\(String(UInt64.random(in: 0...UInt64.max), radix: 36)).tmp"
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw failure("") }
        var renamed = false
        defer {
            if fd >= 0 { _ = close(fd) }
            if !renamed { _ = unlink(temporary) }
        }

        guard fchmod(fd, mode_t(mode)) == 0 else { throw failure("chmod") }
        var offset = 0
        while offset < contents.count {
            let written = contents.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            offset += written
        }
        guard fsync(fd) == 0 else { throw failure("fsync") }
        let closed = close(fd)
        fd = -1
        guard closed == 0 else { throw failure("close") }
        guard rename(temporary, path) == 0 else { throw failure("rename") }
        renamed = true

        // Best effort: make the rename itself durable.
        let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            _ = close(directoryFD)
        }
    }

    static func read(_ path: String, limit: Int, target: String) throws -> [UInt8] {
        func failure(_ message: String) -> TargetError { TargetError(target: target, "cannot read '\(path)': \(message)") }
        let tooLarge = failure("larger than the limit of \(limit) bytes")

        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(errorString(errno)) }
        defer { _ = close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(errorString(errno)) }
        // The size is only a hint (files grow; /proc files report 0), so reading still counts.
        if info.st_mode & S_IFMT == S_IFREG && Int(info.st_size) > limit { throw tooLarge }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(max(Int(info.st_size), 0), max(limit, 0)) + 1)
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(errorString(errno))
            }
            if bytes.count + count > limit { throw tooLarge }
            bytes.append(contentsOf: chunk[..<count])
        }
    }
}

/// The write end signals cancellation to a command's I/O thread, which polls the read end.
///
/// Both descriptors are closed only when the last reference goes, so the cancellation handler
/// can never write to a descriptor number that was closed and reused.
final class WakePipe: Sendable {
    let readFD: Int32
    private let writeFD: Int32

    init(target: String) throws {
        var fds: [Int32] = [-1, -1]
        #if os(Linux)
        let created = LibC.pipe2.map { $0(&fds, O_CLOEXEC) } ?? pipe(&fds)
        #else
        let created = pipe(&fds)
        #endif
        guard created == 0 else { throw TargetError(target: target, "cannot create a pipe: \(errorString(errno))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        readFD = fds[0]
        writeFD = fds[1]
    }

    /// Makes `readFD` readable. Called at most once (task cancellation happens once).
    func signal() {
        var byte: UInt8 = 1
        _ = systemWrite(writeFD, &byte, 1)
    }

    deinit {
        _ = close(readFD)
        _ = close(writeFD)
    }
}

/// Runs `work` on a new thread and resumes the caller with its result.
func onDedicatedThread<T: Sendable>(
    target: String, _ work: @escaping @Sendable () throws -> T
) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        do {
            try startThread(target: target) { continuation.resume(with: Result { try work() }) }
        } catch {
            continuation.resume(throwing: error)
        }
    }
}

/// Starts a detached thread (outside Swift's cooperative pool, so blocking calls cannot starve it).
private func startThread(target: String, _ body: @escaping @Sendable () -> Void) throws {
    let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
    #if canImport(Darwin)
    var thread: pthread_t? = nil
    let rc = pthread_create(&thread, &attributes, { context in
        Unmanaged<ThreadBody>.fromOpaque(context).takeRetainedValue().body()
        return nil
    }, context)
    #else
    var thread = pthread_t()
    let rc = pthread_create(&thread, &attributes, { context in
        Unmanaged<ThreadBody>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    #endif
    guard rc == 0 else {
        Unmanaged<ThreadBody>.fromOpaque(context).release()
        throw TargetError(target: target, "cannot start a thread: \(errorString(rc))")
    }
}

private final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// `read(2)` and `write(2)`, callable inside `LocalFiles`, whose own `read`/`write` shadow them.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }
