#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Drives one spawned child to completion on a dedicated (blocking) thread: feeds its stdin,
/// streams its stdout and stderr line by line, enforces the timeout, honours cancellation, and
/// reaps it.
///
/// Everything happens in a single `poll()` loop, so each descriptor has one owner, and the
/// process group is only ever signalled while its leader is unreaped: until then the leader's
/// pid, which is also the group id, cannot be reused by an unrelated process.
struct ProcessRunner {
    /// How long output is still drained after the child exited while a background process it
    /// left behind (`sleep 100 &`) holds the pipes open.
    static let linger: Duration = .milliseconds(100)

    private enum Phase {
        case running
        /// SIGTERM sent; SIGKILL follows at the instant unless the group is gone first.
        case terminating(killAt: ContinuousClock.Instant)
        case killed
    }

    private let process: SpawnedProcess
    private let command: Command
    private let wakeFD: Int32
    private let onOutput: @Sendable (OutputLine) -> Void
    private let deadline: ContinuousClock.Instant?
    private let clock = ContinuousClock()
    private var stdout: OutputPipe
    private var stderr: OutputPipe
    private var stdin: StdinFeeder?
    private var phase = Phase.running
    /// The leader has exited (it stays unreaped, keeping its pid and group id reserved).
    private var exited = false
    private var timedOut = false
    private var cancelled = false
    private var lingerUntil: ContinuousClock.Instant?
    /// Without a pidfd, exit is checked with `waitid` at growing intervals.
    private var exitCheckInterval = Duration.milliseconds(1)
    /// Watched descriptors, in a fixed order: stdout, stderr, stdin, wake, pidfd (-1: skipped).
    private var pollSet: [pollfd] = []

    /// - Parameter wakeFD: becomes readable when the calling task is cancelled.
    init(_ process: SpawnedProcess, command: Command, wakeFD: Int32, onOutput: @escaping @Sendable (OutputLine) -> Void) {
        self.process = process
        self.command = command
        self.wakeFD = wakeFD
        self.onOutput = onOutput
        deadline = command.timeout.map { process.started.advanced(by: $0) }
        stdout = OutputPipe(.stdout, fd: process.stdout, limit: command.outputLimit)
        stderr = OutputPipe(.stderr, fd: process.stderr, limit: command.outputLimit)
        stdin = process.stdin.map { StdinFeeder(fd: $0, bytes: command.stdin ?? []) }
    }

    /// Runs until the child has been reaped; every `onOutput` call happens before this returns.
    /// Fails with `CancellationError` when the wake descriptor fired.
    mutating func run() -> Result<CommandResult, any Error> {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 1)
        defer { buffer.deallocate() }
        if stdin != nil { StdinFeeder.blockSIGPIPE() }

        while true {
            let now = clock.now
            advance(now: now)
            if isFinished(now: now) { break }
            preparePollSet()
            if poll(&pollSet, nfds_t(pollSet.count), pollTimeout(now: now)) < 0 {
                if errno == EINTR { continue }
                let failure = TargetError(target: "local", "poll failed: \(errorString(errno))")
                signalGroup(SIGKILL)
                _ = finish()
                return .failure(failure)
            }
            handleEvents(buffer: buffer)
        }
        return finish()
    }

    /// Time-driven transitions: the timeout starts termination, the grace ends in SIGKILL, and
    /// an exit starts the linger (unless the group is being terminated: then the grace governs).
    private mutating func advance(now: ContinuousClock.Instant) {
        if !exited, case .running = phase, let deadline, now >= deadline {
            timedOut = true
            terminate(now: now)
        }
        if case .terminating(let killAt) = phase, now >= killAt {
            signalGroup(SIGKILL)
            phase = .killed
        }
        if exited, lingerUntil == nil {
            if case .terminating = phase {} else { lingerUntil = now + Self.linger }
        }
    }

    /// Done once the leader has exited and the output is closed, or the linger ran out.
    private func isFinished(now: ContinuousClock.Instant) -> Bool {
        guard exited else { return false }
        if !stdout.isOpen && !stderr.isOpen { return true }
        return lingerUntil.map { now >= $0 } ?? false
    }

    private mutating func preparePollSet() {
        pollSet.removeAll(keepingCapacity: true)
        pollSet.append(pollfd(fd: stdout.fd, events: Int16(POLLIN), revents: 0))
        pollSet.append(pollfd(fd: stderr.fd, events: Int16(POLLIN), revents: 0))
        pollSet.append(pollfd(fd: stdin?.fd ?? -1, events: Int16(POLLOUT), revents: 0))
        pollSet.append(pollfd(fd: cancelled ? -1 : wakeFD, events: Int16(POLLIN), revents: 0))
        pollSet.append(pollfd(fd: exited ? -1 : process.pidfd ?? -1, events: Int16(POLLIN), revents: 0))
    }

    /// Milliseconds until the next time-driven transition, or -1 (events only).
    private mutating func pollTimeout(now: ContinuousClock.Instant) -> Int32 {
        var next: ContinuousClock.Instant?
        func wake(at instant: ContinuousClock.Instant) { next = min(next ?? instant, instant) }
        if !exited, case .running = phase, let deadline { wake(at: deadline) }
        if case .terminating(let killAt) = phase { wake(at: killAt) }
        if let lingerUntil { wake(at: lingerUntil) }
        if !exited && process.pidfd == nil {
            wake(at: now + exitCheckInterval)
            exitCheckInterval = min(exitCheckInterval * 2, .milliseconds(50))
        }
        return next.map { Self.milliseconds(now.duration(to: $0)) } ?? -1
    }

    private mutating func handleEvents(buffer: UnsafeMutableRawBufferPointer) {
        let emit = onOutput
        if pollSet[0].revents != 0 { stdout.readAvailable(into: buffer, emit: emit) }
        if pollSet[1].revents != 0 { stderr.readAvailable(into: buffer, emit: emit) }
        if pollSet[2].revents != 0 { stdin?.writeAvailable(revents: pollSet[2].revents) }
        if stdin?.isOpen == false { stdin = nil }
        if pollSet[3].revents != 0 {
            cancelled = true
            if case .running = phase { terminate(now: clock.now) }
        }
        if pollSet[4].revents != 0 { exited = true }
        if !exited && process.pidfd == nil { exited = Self.hasExited(process.pid) }
    }

    /// Stops what is left, closes everything, reaps the leader and builds the outcome.
    private mutating func finish() -> Result<CommandResult, any Error> {
        // Whatever is left of a group we were asked to stop is killed while the unreaped leader
        // still reserves the group id; a normally finished command keeps its background processes.
        if case .terminating = phase { signalGroup(SIGKILL) }
        stdin?.close()
        stdout.close(emit: onOutput)
        stderr.close(emit: onOutput)
        if let pidfd = process.pidfd { _ = close(pidfd) }
        let (exitCode, signal) = Self.reap(process.pid)
        let duration = process.started.duration(to: clock.now)

        if cancelled { return .failure(CancellationError()) }
        return .success(CommandResult(
            exitCode: exitCode, signal: signal,
            stdout: stdout.capture.text, stderr: stderr.capture.text,
            stdoutTruncated: stdout.capture.truncated, stderrTruncated: stderr.capture.truncated,
            timedOut: timedOut, duration: duration))
    }

    /// SIGTERM (and SIGCONT, so stopped members can act on it) now, SIGKILL after `killGrace`.
    private mutating func terminate(now: ContinuousClock.Instant) {
        guard command.killGrace > .zero else {
            signalGroup(SIGKILL)
            phase = .killed
            return
        }
        signalGroup(SIGTERM)
        signalGroup(SIGCONT)
        phase = .terminating(killAt: now + command.killGrace)
    }

    private func signalGroup(_ signal: Int32) {
        _ = kill(-process.pid, signal)
    }

    /// Whether the child has exited, without reaping it (the fallback when there is no pidfd).
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else { return errno == ECHILD }
        #if canImport(Darwin)
        return info.si_pid != 0
        #else
        return info._sifields._kill.si_pid != 0
        #endif
    }

    /// Waits for the child and decodes its status: (exit code, nil) or (nil, signal). Both are
    /// nil when something else in the process reaped it first.
    private static func reap(_ pid: pid_t) -> (Int32?, Int32?) {
        LiveProcessGroups.shared.remove(pid)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return (nil, nil) }
        }
        let low = status & 0x7f
        if low == 0 { return ((status >> 8) & 0xff, nil) }
        return low == 0x7f ? (nil, nil) : (nil, low)
    }

    /// A poll timeout: milliseconds, rounded up so the loop does not wake just before a deadline.
    private static func milliseconds(_ duration: Duration) -> Int32 {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64(Int32.max / 1000) else { return Int32.max }
        return Int32(seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}

/// The read end of one output pipe of a child, and what has been captured from it.
struct OutputPipe {
    private(set) var fd: Int32
    private(set) var capture: OutputCapture

    init(_ stream: OutputStream, fd: Int32, limit: Int) {
        self.fd = fd
        capture = OutputCapture(stream, limit: limit)
    }

    var isOpen: Bool { fd >= 0 }

    /// One `read()`, after `poll()` reported the pipe readable or hung up. At EOF the pipe is
    /// closed and a final partial line delivered.
    mutating func readAvailable(into buffer: UnsafeMutableRawBufferPointer, emit: (OutputLine) -> Void) {
        let count = read(fd, buffer.baseAddress, buffer.count)
        if count > 0 {
            capture.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]), emit: emit)
        } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
            close(emit: emit)
        }
    }

    /// Stops reading (EOF, or the linger after exit ran out) and delivers any partial line.
    mutating func close(emit: (OutputLine) -> Void) {
        guard fd >= 0 else { return }
        _ = closeDescriptor(fd)
        fd = -1
        capture.finish(emit: emit)
    }
}

/// Writes a command's stdin bytes to its non-blocking pipe as it becomes writable, then closes it.
struct StdinFeeder {
    private(set) var fd: Int32
    private let bytes: [UInt8]
    private var offset = 0

    init(fd: Int32, bytes: [UInt8]) {
        self.fd = fd
        self.bytes = bytes
    }

    var isOpen: Bool { fd >= 0 }

    /// Writes what the pipe takes. Closes when done, or when the child stopped reading (the
    /// rest is dropped, as a shell pipeline would).
    mutating func writeAvailable(revents: Int16) {
        guard fd >= 0 else { return }
        if revents & Int16(POLLOUT) == 0 {
            close()  // POLLERR / POLLHUP: nobody reads any more
            return
        }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written >= 0 {
            offset += written
            if offset == bytes.count { close() }
        } else if errno != EAGAIN && errno != EINTR {
            if errno == EPIPE { Self.discardSIGPIPE() }
            close()
        }
    }

    mutating func close() {
        guard fd >= 0 else { return }
        _ = closeDescriptor(fd)
        fd = -1
    }

    /// Blocks SIGPIPE on the calling (I/O) thread, so a child that exits without reading its
    /// stdin makes `write` fail with EPIPE instead of killing the runner. The signal is
    /// thread-directed, so other threads keep their own disposition and mask.
    static func blockSIGPIPE() {
        #if os(Linux)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        #endif  // Darwin: the pipe has F_SETNOSIGPIPE instead
    }

    /// Consumes the SIGPIPE left pending by a failed write, so it is not delivered later.
    private static func discardSIGPIPE() {
        #if os(Linux)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        var noWait = timespec()
        _ = sigtimedwait(&set, nil, &noWait)
        #endif
    }
}

/// `close(2)`, callable from types that have a `close()` method of their own.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    close(fd)
}
