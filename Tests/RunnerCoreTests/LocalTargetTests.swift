#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import RunnerCore

@Suite(.serialized)
struct LocalTargetTests {
    let target = LocalTarget()

    // MARK: Exit status and output

    @Test func exitCodes() async throws {
        let ok = try await run(.shell("exit 0")).result
        #expect(ok.exitCode == 0 && ok.signal == nil && ok.succeeded)
        let three = try await run(.shell("exit 3")).result
        #expect(three.exitCode == 3 && three.signal == nil && !three.succeeded)
    }

    @Test func killedBySignal() async throws {
        let result = try await run(.shell("kill -9 $$")).result
        #expect(result.exitCode == nil)
        #expect(result.signal == SIGKILL)
        #expect(!result.succeeded)
    }

    @Test func stdoutAndStderrAreSeparate() async throws {
        let (result, lines) = try await run(.shell("echo out; echo err >&2; echo out2"))
        #expect(result.stdout == "out\nout2")
        #expect(result.stderr == "err")
        #expect(lines.filter { $0.stream == .stdout }.map(\.text) == ["out", "out2"])
        #expect(lines.filter { $0.stream == .stderr }.map(\.text) == ["err"])
    }

    @Test func linesStreamInOrderWithPartialLastLine() async throws {
        let script = "printf 'a\\nb\\r\\n'; sleep 0.05; printf 'e\\n' >&2; sleep 0.05; printf 'c\\n\\nd'"
        let (result, lines) = try await run(.shell(script))
        #expect(lines == [
            OutputLine(.stdout, "a"), OutputLine(.stdout, "b"), OutputLine(.stderr, "e"),
            OutputLine(.stdout, "c"), OutputLine(.stdout, ""), OutputLine(.stdout, "d"),
        ])
        #expect(result.stdout == "a\nb\r\nc\n\nd")
    }

    @Test func linesArriveWhileTheCommandRuns() async throws {
        let (stream, continuation) = AsyncStream<ContinuousClock.Instant>.makeStream()
        _ = try await target.run(Command(.shell("echo first; sleep 0.4; echo second"))) { _ in
            continuation.yield(.now)
        }
        continuation.finish()
        var arrivals: [ContinuousClock.Instant] = []
        for await instant in stream { arrivals.append(instant) }
        #expect(arrivals.count == 2)
        if arrivals.count == 2 { #expect(arrivals[0].duration(to: arrivals[1]) > .milliseconds(250)) }
    }

    @Test func invalidUTF8DoesNotCrash() async throws {
        let (result, lines) = try await run(.shell("printf '\\377\\376ok\\n\\377'"))
        #expect(lines.count == 2)
        #expect(lines.first?.text.hasSuffix("ok") == true)
        #expect(result.stdout.contains("ok"))
    }

    @Test func tenMegabytesKeepTheTail() async throws {
        // 655360 lines of 16 bytes = 10 MiB, then a marker.
        let script = "yes 0123456789abcde | head -n 655360; echo TAIL-MARKER; echo small >&2"
        let (stream, continuation) = AsyncStream<String>.makeStream()
        let result = try await target.run(Command(.shell(script), outputLimit: 100)) { line in
            if line.stream == .stdout { continuation.yield(line.text) }
        }
        continuation.finish()
        var count = 0
        var last = ""
        for await text in stream {
            count += 1
            last = text
        }
        #expect(count == 655_361)
        #expect(last == "TAIL-MARKER")
        #expect(result.stdout.hasSuffix("0123456789abcde\nTAIL-MARKER"))
        #expect(result.stdout.utf8.count <= 100)
        #expect(result.stdoutTruncated)
        #expect(result.stderr == "small")
        #expect(!result.stderrTruncated)
    }

    @Test func outputLimitBoundary() async throws {
        let exact = try await run(Command(.shell("printf abc"), outputLimit: 3)).result
        #expect(exact.stdout == "abc" && !exact.stdoutTruncated)
        let over = try await run(Command(.shell("printf abc"), outputLimit: 2)).result
        #expect(over.stdout == "bc" && over.stdoutTruncated)
        // Several small writes, none as large as the limit.
        let script = "printf aaaaaaa; sleep 0.02; printf bbbbbbb; sleep 0.02; printf ccccccc"
        let pieces = try await run(Command(.shell(script), outputLimit: 10)).result
        #expect(pieces.stdout == "bbbccccccc" && pieces.stdoutTruncated)
    }

    // MARK: Input, environment, directory

    @Test func stdinIsPassedThrough() async throws {
        let echoed = try await run(Command(.argv(["cat"]), stdin: Array("hello\nworld".utf8))).result
        #expect(echoed.stdout == "hello\nworld")

        let big = [UInt8](repeating: 0x61, count: 1 << 20)  // larger than a pipe buffer
        let counted = try await run(Command(.shell("wc -c | tr -d ' '"), stdin: big)).result
        #expect(counted.stdout == "1048576")
    }

    @Test func stdinIsDevNullByDefault() async throws {
        let result = try await run(Command(.argv(["cat"]), timeout: .seconds(5))).result
        #expect(!result.timedOut)
        #expect(result.exitCode == 0 && result.stdout == "")
    }

    @Test func unreadStdinDoesNotHurtTheRunner() async throws {
        let big = [UInt8](repeating: 0x61, count: 4 << 20)
        let result = try await run(Command(.shell("exit 7"), stdin: big, timeout: .seconds(5))).result
        #expect(result.exitCode == 7)
        #expect(!result.timedOut)
    }

    @Test func environmentIsInheritedAndOverridden() async throws {
        let command = Command(
            .shell("echo \"$RUNNER_TEST_VAR|$HOME|${PATH:+has-path}\""),
            environment: ["RUNNER_TEST_VAR": "a b'c", "HOME": "/nonexistent-home"])
        let result = try await run(command).result
        #expect(result.stdout == "a b'c|/nonexistent-home|has-path")
    }

    @Test func argvLookupUsesTheCommandsPATH() async throws {
        let dir = makeTemporaryDirectory()
        try await target.writeFile(dir + "/runner-tool", contents: Array("#!/bin/sh\necho tool:$1\n".utf8), mode: 0o755)
        let result = try await run(Command(.argv(["runner-tool", "x"]), environment: ["PATH": dir + ":/usr/bin:/bin"])).result
        #expect(result.stdout == "tool:x")
        await removeTree(dir)
    }

    @Test func workingDirectory() async throws {
        let dir = makeTemporaryDirectory()
        let result = try await run(Command(.argv(["pwd", "-P"]), workingDirectory: dir)).result
        #expect(result.stdout == realPath(dir))
        await removeTree(dir)

        let missing = dir + "/does-not-exist"
        let error = await #expect(throws: TargetError.self) {
            _ = try await target.run(Command(.shell("true"), workingDirectory: missing)) { _ in }
        }
        #expect(error?.message.contains(missing) == true)
    }

    // MARK: Process groups, signals, timeouts, cancellation

    @Test func childIsTheLeaderOfANewProcessGroup() async throws {
        let result = try await run(.argv(["sh", "-c", "echo $$ $(cut -d' ' -f5 /proc/$$/stat)"])).result
        let fields = result.stdout.split(separator: " ")
        #expect(fields.count == 2 && fields.first == fields.last)
        #expect(fields.last.map(String.init) != String(getpgrp()))
    }

    @Test func childGetsDefaultSignalsAndEmptyMask() async throws {
        let previous = signal(SIGINT, SIG_IGN)
        defer { signal(SIGINT, previous) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGUSR2)
        pthread_sigmask(SIG_BLOCK, &blocked, nil)
        defer { pthread_sigmask(SIG_UNBLOCK, &blocked, nil) }

        let result = try await run(.argv(["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"])).result
        let masks = result.stdout.split(separator: "\n").map { UInt64($0.split(separator: "\t").last ?? "", radix: 16) }
        #expect(masks.count == 2)
        #expect(masks.first == 0)  // nothing blocked
        // Nothing ignored among the standard signals (glibc itself ignores its internal 32 and 33).
        #expect(masks.last.map { $0.map { $0 & 0x7fff_ffff } } == 0)
        let interrupted = try await run(.shell("kill -INT $$; echo survived")).result
        #expect(interrupted.signal == SIGINT)
        #expect(interrupted.stdout == "")
    }

    @Test func timeoutKillsTheWholeGroup() async throws {
        let dir = makeTemporaryDirectory()
        let command = Command(
            .shell("sleep 100 & echo $! > \(dir)/pid; sleep 100"),
            timeout: .milliseconds(300), killGrace: .seconds(5))
        let result = try await run(command).result
        #expect(result.timedOut && !result.succeeded)
        #expect(result.signal == SIGTERM && result.exitCode == nil)
        let pid = try await backgroundPid(dir + "/pid")
        #expect(await isGone(pid))
        await removeTree(dir)
    }

    @Test func timeoutEscalatesToSIGKILL() async throws {
        let command = Command(.shell("trap '' TERM; sleep 100"), timeout: .milliseconds(200), killGrace: .milliseconds(300))
        let result = try await run(command).result
        #expect(result.timedOut)
        #expect(result.signal == SIGKILL)
        #expect(result.duration >= .milliseconds(500))  // the timeout and the grace were waited out
    }

    @Test func cancellationKillsTheGroupAndThrows() async throws {
        let dir = makeTemporaryDirectory()
        let script = "echo $$ > \(dir)/leader; sleep 100 & echo $! > \(dir)/pid; sleep 100"
        let task = Task { [target] in try await target.run(Command(.shell(script))) { _ in } }
        let pid = try await backgroundPid(dir + "/pid")
        let leader = try await backgroundPid(dir + "/leader")
        task.cancel()
        let outcome = await task.result
        #expect(throws: CancellationError.self) { try outcome.get() }
        #expect(kill(leader, 0) == -1 && errno == ESRCH)  // reaped, not a zombie
        #expect(await isGone(pid))
        await removeTree(dir)
    }

    @Test func alreadyCancelledTaskStartsNothing() async throws {
        let dir = makeTemporaryDirectory()
        let task = Task { [target] in
            withUnsafeCurrentTask { $0?.cancel() }
            return try await target.run(Command(.shell("touch \(dir)/ran"))) { _ in }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(access(dir + "/ran", F_OK) != 0)
        await removeTree(dir)
    }

    @Test func backgroundedGrandchildDoesNotHang() async throws {
        let (result, _) = try await run(Command(.shell("sleep 30 & echo $!; echo done >&2"), timeout: .seconds(10)))
        #expect(result.exitCode == 0 && !result.timedOut)  // a hang would end in the 10 s timeout
        #expect(result.stderr == "done")
        if let pid = pid_t(result.stdout) {
            #expect(kill(pid, 0) == 0)  // left running: it was not asked to stop
            kill(pid, SIGKILL)
        } else {
            Issue.record("no pid in \(result.stdout)")
        }
    }

    @Test func argvArgumentsAreLiteral() async throws {
        let hostile = "x'; rm -rf / #\"$HOME`id`"
        let result = try await run(.argv(["/bin/sh", "-c", "printf '%s\\n' \"$#\"; printf '<%s>' \"$@\"", "sh", hostile])).result
        #expect(result.stdout == "1\n<\(hostile)>")
        let searched = try await run(.argv(["printf", "%s", hostile])).result
        #expect(searched.stdout == hostile)
    }

    @Test func unknownProgramIsAnError() async throws {
        let error = await #expect(throws: TargetError.self) {
            _ = try await target.run(Command(.argv(["runner-no-such-program"]))) { _ in }
        }
        #expect(error?.message.contains("runner-no-such-program") == true)
    }

    // MARK: Files

    @Test func writeFileIsAtomicWithMode() async throws {
        let dir = makeTemporaryDirectory()
        let path = dir + "/out.txt"
        let previousMask = umask(0o022)
        defer { umask(previousMask) }

        try await target.writeFile(path, contents: Array("first".utf8), mode: 0o600)
        let first = try fileStatus(path)
        #expect(first.st_mode & 0o7777 == 0o600)

        try await target.writeFile(path, contents: Array("second\n".utf8), mode: 0o666)
        let second = try fileStatus(path)
        #expect(second.st_mode & 0o7777 == 0o666)  // not narrowed by the umask
        #expect(second.st_ino != first.st_ino)  // replaced by rename, not rewritten in place
        #expect(try await target.readFile(path, limit: 100) == Array("second\n".utf8))

        let listing = try await run(.argv(["ls", "-A", dir])).result
        #expect(listing.stdout == "out.txt")  // no temporary file left behind

        let nowhere = dir + "/missing/out.txt"
        let error = await #expect(throws: TargetError.self) {
            try await target.writeFile(nowhere, contents: [1], mode: 0o644)
        }
        #expect(error?.message.contains(nowhere) == true)
        await removeTree(dir)
    }

    @Test func readFileLimit() async throws {
        let dir = makeTemporaryDirectory()
        let path = dir + "/data"
        let bytes = (0..<100).map { UInt8($0) }
        try await target.writeFile(path, contents: bytes, mode: 0o644)
        #expect(try await target.readFile(path, limit: 100) == bytes)

        let tooLarge = await #expect(throws: TargetError.self) { _ = try await target.readFile(path, limit: 99) }
        #expect(tooLarge?.message.contains(path) == true)
        let missing = await #expect(throws: TargetError.self) { _ = try await target.readFile(dir + "/nope", limit: 99) }
        #expect(missing?.message.contains(dir + "/nope") == true)

        // Sizes that stat does not know (procfs) are still counted.
        #expect(try await target.readFile("/proc/self/status", limit: 1 << 20).count > 0)
        await #expect(throws: TargetError.self) { _ = try await target.readFile("/proc/self/status", limit: 10) }
        await removeTree(dir)
    }

    // MARK: Helpers

    private func run(_ executable: Executable) async throws -> (result: CommandResult, lines: [OutputLine]) {
        try await run(Command(executable))
    }

    private func run(_ command: Command) async throws -> (result: CommandResult, lines: [OutputLine]) {
        let (stream, continuation) = AsyncStream<OutputLine>.makeStream()
        let result = try await target.run(command) { continuation.yield($0) }
        continuation.finish()
        var lines: [OutputLine] = []
        for await line in stream { lines.append(line) }
        return (result, lines)
    }

    /// Waits (up to 5 s) for a script to write a pid to `path`.
    private func backgroundPid(_ path: String) async throws -> pid_t {
        for _ in 0..<500 {
            if let bytes = try? await target.readFile(path, limit: 64),
               let pid = pid_t(String(decoding: bytes, as: UTF8.self).split(separator: "\n").first ?? "") {
                return pid
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TargetError(target: "test", "no pid in \(path)")
    }

    /// Whether `pid` has died within 2 s. A zombie counts as dead: orphans are reaped by PID 1,
    /// which in some containers never reaps.
    private func isGone(_ pid: pid_t) async -> Bool {
        for _ in 0..<200 {
            if kill(pid, 0) != 0 && errno == ESRCH { return true }
            if let stat = try? await target.readFile("/proc/\(pid)/stat", limit: 4096),
               let close = stat.lastIndex(of: UInt8(ascii: ")")), close + 2 < stat.count,
               stat[close + 2] == UInt8(ascii: "Z") {
                return true
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    private func makeTemporaryDirectory() -> String {
        var template = Array("/tmp/runner-localtarget-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    private func removeTree(_ path: String) async {
        precondition(path.hasPrefix("/tmp/runner-localtarget-"))
        _ = try? await target.run(Command(.argv(["rm", "-rf", path]))) { _ in }
    }

    private func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func fileStatus(_ path: String) throws -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else { throw TargetError(target: "test", "stat \(path) failed") }
        return info
    }
}

/// Issue 10: a value over 128 KiB failed with a bare `Argument list too long`.
@Suite struct CommandSizeTests {
    @Test func aTooLargeVariableIsNamedWithTheWayOut() async throws {
        let big = String(repeating: "v", count: 200 << 10)
        let error = await #expect(throws: TargetError.self) {
            try await LocalTarget().run(Command(.shell("echo \"$RUNNER_VALUE_2\""), environment: ["RUNNER_VALUE_2": big, "A": "1"])) { _ in }
        }
        let message = error?.message ?? ""
        #expect(message.contains("${{ }} expression number 2") && message.contains("RUNNER_VALUE_2"), "\(message)")
        #expect(message.contains("200 KiB") && message.contains("128 KiB") && message.contains("file") && message.contains("stdin"))
        #expect(!message.contains("vvvv"), "the value itself is not repeated")

        let plain = await #expect(throws: TargetError.self) {
            try await LocalTarget().run(Command(.shell("true"), environment: ["PAYLOAD": big])) { _ in }
        }
        #expect(plain?.message.contains("environment variable PAYLOAD is 200 KiB") == true, "\(plain?.message ?? "")")
    }

    @Test func tooLargeArgumentsAndTotalsAreNamedToo() async throws {
        let big = String(repeating: "a", count: 130 << 10)
        let argument = await #expect(throws: TargetError.self) {
            try await LocalTarget().run(Command(.argv(["printf", "%s", big]))) { _ in }
        }
        #expect(argument?.message.contains("argument 2 is 130 KiB") == true, "\(argument?.message ?? "")")
        // Twenty variables of 100 KiB: each is allowed, together they are not.
        var environment: [String: String] = [:]
        for index in 1...30 { environment["V\(index)"] = String(repeating: "b", count: 100 << 10) }
        let total = await #expect(throws: TargetError.self) {
            try await LocalTarget().run(Command(.shell("true"), environment: environment)) { _ in }
        }
        #expect(total?.message.contains("too large together") == true, "\(total?.message ?? "")")
    }

    @Test func aPipelineValueOver128KiBNamesTheExpression() async throws {
        let yaml = """
            params:
              small: { default: x }
              big: {}
            steps:
              - id: s
                run: echo "${{ params.small }}" "${{ params.big }}" | wc -c
            """
        let result = try await Harness.run(yaml, params: ["big": .string(String(repeating: "z", count: 129 << 10))])
        #expect(result.outcome.status == .failed)
        let error = result.sink.finished.first { $0.label == "s" }?.error ?? ""
        #expect(error.contains("expression number 2") && error.contains("129 KiB"), "\(error)")
    }
}
