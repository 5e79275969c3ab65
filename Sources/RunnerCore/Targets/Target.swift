/// Where commands execute: "run this command / write these bytes / read this file, here".
///
/// The local target uses processes; the SSH target (RunnerSSH) uses channels and SFTP.
/// Plugins build `Command` values and hand them to a target, so every plugin works
/// locally and remotely with the same code.
public protocol Target: Sendable {
    /// `local`, or the inventory name of a host.
    var name: String { get }

    /// Runs a command to completion. A non-zero exit is a result, not an error; errors are
    /// for commands that could not be started or a target that broke (connection lost).
    /// Task cancellation stops the command (its whole process group) and throws `CancellationError`.
    func run(_ command: Command, onOutput: @escaping @Sendable (OutputLine) -> Void) async throws -> CommandResult

    /// Writes a file atomically (temporary name in the same directory, then rename), creating
    /// no parent directories.
    func writeFile(_ path: String, contents: [UInt8], mode: Int) async throws

    /// Reads a whole file, refusing files larger than `limit` bytes.
    func readFile(_ path: String, limit: Int) async throws -> [UInt8]
}

/// What to execute: a shell script (`/bin/sh -c`) or an argv run without any shell.
public enum Executable: Sendable, Hashable {
    case shell(String)
    case argv([String])
}

public struct Command: Sendable {
    public var executable: Executable
    /// Added to (and overriding) the target's own environment.
    public var environment: [String: String]
    public var workingDirectory: String?
    public var stdin: [UInt8]?
    /// Wall-clock limit; when it passes the process group gets SIGTERM, then SIGKILL after `killGrace`.
    public var timeout: Duration?
    public var killGrace: Duration
    /// Bytes of stdout and of stderr kept in the result (the tail); streaming is not limited.
    public var outputLimit: Int

    public init(
        _ executable: Executable,
        environment: [String: String] = [:],
        workingDirectory: String? = nil,
        stdin: [UInt8]? = nil,
        timeout: Duration? = nil,
        killGrace: Duration = .seconds(3),
        outputLimit: Int = Command.defaultOutputLimit
    ) {
        self.executable = executable
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.timeout = timeout
        self.killGrace = killGrace
        self.outputLimit = outputLimit
    }
}

extension Command {
    /// Bytes of stdout and of stderr a result keeps unless a command asks for more.
    public static let defaultOutputLimit = 1 << 20
}

public enum OutputStream: String, Sendable, Hashable {
    case stdout, stderr
}

/// One line of output, without its line terminator, as it arrives.
///
/// A line longer than the streaming limit arrives in pieces: every piece but the last has
/// `continues` set, and the next `OutputLine` of the same stream (from the same command) goes on
/// where it stopped. Consumers that mask or parse must treat the pieces as one line.
public struct OutputLine: Sendable, Hashable {
    public var stream: OutputStream
    public var text: String
    /// True when the line goes on in the next piece of this stream.
    public var continues: Bool

    public init(_ stream: OutputStream, _ text: String, continues: Bool = false) {
        self.stream = stream
        self.text = text
        self.continues = continues
    }
}

public struct CommandResult: Sendable, Hashable {
    /// Exit status when the process exited normally.
    public var exitCode: Int32?
    /// Signal number when the process was killed by a signal.
    public var signal: Int32?
    public var stdout: String
    public var stderr: String
    /// True when more output arrived than `outputLimit` kept.
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    public var timedOut: Bool
    public var duration: Duration
    /// What to do about the failure, when the runner recognises it (sudo asking for a password
    /// the host does not have): shown after the stderr tail in error messages.
    public var hint: String?

    public init(
        exitCode: Int32?, signal: Int32? = nil, stdout: String = "", stderr: String = "",
        stdoutTruncated: Bool = false, stderrTruncated: Bool = false, timedOut: Bool = false,
        duration: Duration = .zero
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.timedOut = timedOut
        self.duration = duration
    }

    public var succeeded: Bool { exitCode == 0 && !timedOut }
}

/// A target failed in a way that is not a command's exit status.
public struct TargetError: Error, Sendable, CustomStringConvertible {
    public var target: String
    public var message: String

    public init(target: String, _ message: String) {
        self.target = target
        self.message = message
    }

    public var description: String { "\(target): \(message)" }
}

extension CommandResult {
    /// Why the command failed, for messages: `exit code 3`, `killed by signal 9` or `timed out`.
    public var failureReason: String {
        if timedOut { return "timed out" }
        return signal.map { "killed by signal \($0)" } ?? "exit code \(exitCode ?? -1)"
    }

    /// What a finished command reports to a pipeline: `stdout`, `stderr`, `exit_code` (null when a
    /// signal ended it), and `stdout_truncated` / `stderr_truncated` when only the tail was kept.
    public var outputValues: [String: Value] {
        ["stdout": .string(stdout), "stderr": .string(stderr),
         "stdout_truncated": .bool(stdoutTruncated), "stderr_truncated": .bool(stderrTruncated),
         "exit_code": exitCode.map { .int(Int($0)) } ?? .null]
    }

    /// The last five lines of stderr (empty when there are none), then the `hint` if any, for
    /// error messages.
    public var stderrTail: String {
        let tail = stderr.split(separator: "\n").suffix(5).joined(separator: "\n")
        guard let hint else { return tail }
        return tail.isEmpty ? hint : tail + "\n" + hint
    }
}
