import Foundation

/// posix_spawn for the SSH fixture. Foundation's `Process` reaps children from one monitor
/// thread that blocks in `wait4` on whichever child it was told about, so several tests
/// starting sshd and ssh-keygen at once could hang it; these helpers wait for their own pid.
public enum Spawn {
    /// Starts `program` with stdin from /dev/null and stdout and stderr appended to `logFile`.
    public static func start(_ program: String, _ arguments: [String], logFile: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        return try spawn(program, arguments, &actions)
    }

    /// Runs `program` to completion and returns its combined output; throws when it fails.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String]) throws -> String {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw FixtureError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        let pid: pid_t
        do {
            pid = try spawn(program, arguments, &actions)
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &chunk, chunk.count)
            if count > 0 { output += chunk[..<count] } else if count == 0 || errno != EINTR { break }
        }
        close(fds[0])
        let status = wait(pid)
        let text = String(decoding: output, as: UTF8.self)
        guard status == 0 else {
            throw FixtureError("\(program) \(arguments.joined(separator: " ")) exited with \(status): \(text)")
        }
        return text
    }

    /// Waits for `pid` and returns its exit status (128 + signal when it was killed).
    @discardableResult
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Whether `pid` (a child not yet waited for) is still running.
    public static func isRunning(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == 0
    }

    private static func spawn(_ program: String, _ arguments: [String], _ actions: inout posix_spawn_file_actions_t) throws -> pid_t {
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard rc == 0 else { throw FixtureError("cannot start \(program): \(String(cString: strerror(rc)))") }
        return pid
    }
}
