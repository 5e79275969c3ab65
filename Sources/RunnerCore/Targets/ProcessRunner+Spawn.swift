#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
import Foundation  // ProcessInfo: Darwin does not export `environ` to Swift
#endif

/// A child started by `ProcessRunner.spawn`: the leader of a new process group (its pgid is its
/// pid) and the parent's ends of its pipes. Every descriptor here is close-on-exec, so children
/// spawned concurrently by other threads never inherit them (which would delay EOF).
struct SpawnedProcess: Sendable {
    var pid: pid_t
    /// Read ends of the child's stdout and stderr pipes.
    var stdout: Int32
    var stderr: Int32
    /// Non-blocking write end of the child's stdin pipe; nil when stdin is `/dev/null`.
    var stdin: Int32?
    /// A pidfd that polls readable once the child has exited (Linux ≥ 5.3); nil elsewhere.
    var pidfd: Int32?
    /// Taken just before `posix_spawn`: the origin of `timeout` and of the result's duration.
    var started: ContinuousClock.Instant
    /// The command's own `RunProcesses` tag token, when it was started for a run.
    var tag: String?
}

extension ProcessRunner {
    /// Starts `command` in a new process group with default signal dispositions, an empty signal
    /// mask, the runner's environment plus `command.environment`, and pipes for its output.
    /// Started for a run (`processes`), it also carries the run's tag and inherits the run's lock
    /// descriptors; no other descriptor above stderr reaches it.
    ///
    /// Throws `TargetError` (naming the program or directory) when it cannot be started.
    static func spawn(_ command: Command, target: String, processes: RunProcesses? = nil) throws -> SpawnedProcess {
        func failure(_ message: String) -> TargetError { TargetError(target: target, message) }

        let (program, arguments, searchPath) = try resolve(command, failure)
        if let directory = command.workingDirectory { try checkDirectory(directory, failure) }
        for (key, value) in command.environment
        where key.isEmpty || key.contains("=") || key.utf8.contains(0) || value.utf8.contains(0) {
            throw failure("invalid environment variable name or value: '\(key)'")
        }
        var environmentOverrides = command.environment
        let tag = processes?.nextCommandTag()
        if let tag { environmentOverrides[RunProcesses.variable] = tag.value }
        let argv = CStringArray(arguments)
        let envp = environmentOverrides.isEmpty ? nil : CStringArray(mergedEnvironment(environmentOverrides))

        // Descriptors opened so far; closed on failure, and the child's ends on success.
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { childEnds.forEach { _ = close($0) } }
        var succeeded = false
        defer { if !succeeded { parentEnds.forEach { _ = close($0) } } }

        let out = try makePipe(failure)
        parentEnds.append(out.read); childEnds.append(out.write)
        let err = try makePipe(failure)
        parentEnds.append(err.read); childEnds.append(err.write)
        var input: (read: Int32, write: Int32)?
        if let bytes = command.stdin, !bytes.isEmpty {
            let pipe = try makePipe(failure)
            parentEnds.append(pipe.write); childEnds.append(pipe.read)
            _ = fcntl(pipe.write, F_SETFL, fcntl(pipe.write, F_GETFL) | O_NONBLOCK)
            #if canImport(Darwin)
            _ = fcntl(pipe.write, F_SETNOSIGPIPE, 1)  // EPIPE instead of SIGPIPE when the child stops reading
            #endif
            input = pipe
        }

        #if canImport(Darwin)
        var attributes: SpawnAttributes = nil
        var actions: FileActions = nil
        #else
        var attributes = SpawnAttributes()
        var actions = FileActions()
        #endif
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }

        configure(&attributes)
        if let input {
            posix_spawn_file_actions_adddup2(&actions, input.read, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, out.write, 1)
        posix_spawn_file_actions_adddup2(&actions, err.write, 2)
        if let directory = command.workingDirectory { try addChdir(&actions, directory, failure) }

        #if canImport(Darwin)
        let environment = envp ?? CStringArray(mergedEnvironment([:]))  // `environ` is not exported to Swift
        #else
        let environment = envp
        #endif
        var pid: pid_t = 0
        var started = ContinuousClock.now
        var rc: Int32 = 0
        // The run's lock descriptors cannot be closed while the child takes its copies.
        func launch(inheriting descriptors: [Int32]) {
            #if os(Linux)
            addInherited(descriptors, to: &actions)
            #endif
            started = ContinuousClock.now
            // ETXTBSY: a file just written (a script, an uploaded tool) is still open for writing in a
            // child that another thread forked meanwhile, until that child execs. It passes in
            // microseconds, so retry briefly instead of failing the step.
            for attempt in 0..<20 {
                rc = withExtendedLifetime((argv, environment)) {
                    #if canImport(Darwin)
                    let env = environment.base
                    #else
                    let env = environment?.base ?? environ
                    #endif
                    return searchPath
                        ? posix_spawnp(&pid, program, &actions, &attributes, argv.base, env)
                        : posix_spawn(&pid, program, &actions, &attributes, argv.base, env)
                }
                guard rc == ETXTBSY else { break }
                usleep(useconds_t(1000 << min(attempt, 5)))
            }
        }
        if let processes { processes.withDescriptors(launch) } else { launch(inheriting: []) }
        guard rc == 0 else {
            if rc == E2BIG { throw failure(CommandSize.tooLong(command, program: program)) }
            let place = command.workingDirectory.map { " in '\($0)'" } ?? ""
            throw failure("cannot run '\(program)'\(place): \(errorString(rc))")
        }
        succeeded = true
        LiveProcessGroups.shared.insert(pid)

        #if os(Linux)
        let pidfd = LibC.pidfdOpen.map { $0(pid, 0) }.flatMap { $0 >= 0 ? $0 : nil }  // close-on-exec by design
        #else
        let pidfd: Int32? = nil
        #endif
        return SpawnedProcess(
            pid: pid, stdout: out.read, stderr: err.read, stdin: input?.write, pidfd: pidfd, started: started,
            tag: tag?.token)
    }

    #if os(Linux)
    /// Closes every descriptor above stderr in the child (other libraries open some without
    /// O_CLOEXEC) except `inherited`, which stay open at their own numbers: `dup2` of a
    /// descriptor onto itself clears its close-on-exec flag (glibc ≥ 2.29).
    private static func addInherited(_ inherited: [Int32], to actions: inout FileActions) {
        let top = max(inherited.max() ?? 2, 2)
        if let addClosefrom = LibC.addClosefrom {
            if top >= 3 {
                for fd in 3...top where !inherited.contains(fd) { posix_spawn_file_actions_addclose(&actions, fd) }
            }
            _ = addClosefrom(&actions, top + 1)
        }
        for fd in inherited { posix_spawn_file_actions_adddup2(&actions, fd, fd) }
    }
    #endif

    /// A new process group led by the child (pgid 0: its own pid), every signal at its default
    /// disposition, nothing blocked (a runner ignoring SIGINT must not pass that on).
    private static func configure(_ attributes: inout SpawnAttributes) {
        var flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK
        #if canImport(Darwin)
        flags |= POSIX_SPAWN_CLOEXEC_DEFAULT  // only descriptors named in the file actions reach the child
        #endif
        posix_spawnattr_setflags(&attributes, Int16(flags))
        posix_spawnattr_setpgroup(&attributes, 0)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
    }

    private static func addChdir(
        _ actions: inout FileActions, _ directory: String, _ failure: (String) -> TargetError
    ) throws {
        #if os(Linux)
        guard let addChdir = LibC.addChdir else {
            throw failure("cannot use working directory '\(directory)': the C library lacks posix_spawn_file_actions_addchdir_np")
        }
        let rc = addChdir(&actions, directory)
        #else
        let rc = posix_spawn_file_actions_addchdir_np(&actions, directory)
        #endif
        guard rc == 0 else { throw failure("cannot use working directory '\(directory)': \(errorString(rc))") }
    }

    /// Kills and reaps a child nobody will drive (its I/O thread could not be started).
    static func abandon(_ process: SpawnedProcess) {
        _ = kill(-process.pid, SIGKILL)
        for fd in [process.stdout, process.stderr, process.stdin, process.pidfd].compactMap({ $0 }) { _ = close(fd) }
        var status: Int32 = 0
        while waitpid(process.pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// The program to execute, its argv, and whether `posix_spawnp` should search the runner's PATH.
    /// A PATH in `command.environment` is searched here instead, so it governs the lookup too.
    private static func resolve(
        _ command: Command, _ failure: (String) -> TargetError
    ) throws -> (program: String, arguments: [String], searchPath: Bool) {
        switch command.executable {
        case .shell(let script):
            guard !script.utf8.contains(0) else { throw failure("shell script contains a NUL byte") }
            return ("/bin/sh", ["sh", "-c", script], false)
        case .argv(let arguments):
            guard let first = arguments.first, !first.isEmpty else { throw failure("empty argv") }
            if let index = arguments.firstIndex(where: { $0.utf8.contains(0) }) {
                throw failure("argument \(index) of '\(first)' contains a NUL byte")
            }
            if first.contains("/") { return (first, arguments, false) }
            guard let path = command.environment["PATH"] else { return (first, arguments, true) }
            for directory in path.split(separator: ":", omittingEmptySubsequences: false) {
                let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + first
                var info = stat()
                if access(candidate, X_OK) == 0, stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
                    return (candidate, arguments, false)
                }
            }
            throw failure("cannot run '\(first)': not found in PATH '\(path)'")
        }
    }

    /// Refuses a working directory that does not exist rather than running somewhere else.
    private static func checkDirectory(_ directory: String, _ failure: (String) -> TargetError) throws {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            let reason = errno == ENOENT ? "does not exist" : "is not usable: \(errorString(errno))"
            throw failure("working directory '\(directory)' \(reason)")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw failure("working directory '\(directory)' is not a directory")
        }
    }

    /// The runner's environment with `overrides` replacing or adding entries, as `KEY=value`.
    private static func mergedEnvironment(_ overrides: [String: String]) -> [String] {
        var entries: [String] = []
        #if canImport(Darwin)
        for (key, value) in ProcessInfo.processInfo.environment where overrides[key] == nil {
            entries.append("\(key)=\(value)")
        }
        #else
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            let key = text.firstIndex(of: "=").map { String(text[..<$0]) } ?? text
            if overrides[key] == nil { entries.append(text) }
            cursor += 1
        }
        #endif
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) { entries.append("\(key)=\(value)") }
        return entries
    }

    /// A close-on-exec pipe (atomically via `pipe2` where available).
    private static func makePipe(_ failure: (String) -> TargetError) throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        #if os(Linux)
        if let pipe2 = LibC.pipe2 {
            guard pipe2(&fds, O_CLOEXEC) == 0 else { throw failure("cannot create a pipe: \(errorString(errno))") }
            return (fds[0], fds[1])
        }
        #endif
        guard pipe(&fds) == 0 else { throw failure("cannot create a pipe: \(errorString(errno))") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
}

/// `strerror` as a Swift string.
func errorString(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// A NULL-terminated array of C strings (argv, envp) that frees itself.
final class CStringArray {
    let base: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private let count: Int

    init(_ strings: [String]) {
        count = strings.count
        base = .allocate(capacity: count + 1)
        for (index, string) in strings.enumerated() { base[index] = strdup(string) }
        base[count] = nil
    }

    deinit {
        for index in 0..<count { free(base[index]) }
        base.deallocate()
    }
}

#if canImport(Darwin)
private typealias SpawnAttributes = posix_spawnattr_t?
private typealias FileActions = posix_spawn_file_actions_t?
#else
private typealias SpawnAttributes = posix_spawnattr_t
private typealias FileActions = posix_spawn_file_actions_t
#endif

#if os(Linux)
/// glibc functions that Swift's Glibc module does not import (their headers need `_GNU_SOURCE`),
/// looked up once at run time; each is nil when the C library lacks it.
enum LibC {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    typealias PidfdSendSignal = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UInt32) -> Int32

    /// glibc 2.9.
    static let pipe2 = symbol("pipe2", as: Pipe2.self)
    /// glibc 2.29.
    static let addChdir = symbol("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
    /// glibc 2.34.
    static let addClosefrom = symbol("posix_spawn_file_actions_addclosefrom_np", as: AddClosefrom.self)
    /// glibc 2.36 (and it fails with ENOSYS on kernels before 5.3).
    static let pidfdOpen = symbol("pidfd_open", as: PidfdOpen.self)
    /// glibc 2.36 (kernel 5.1).
    static let pidfdSendSignal = symbol("pidfd_send_signal", as: PidfdSendSignal.self)

    private static func symbol<Function>(_ name: String, as _: Function.Type) -> Function? {
        guard let handle = dlopen(nil, RTLD_NOW), let address = dlsym(handle, name) else { return nil }
        return unsafeBitCast(address, to: Function.self)
    }
}
#endif
