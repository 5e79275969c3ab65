import Foundation
import Synchronization
import RunnerLua
import Testing
@testable import RunnerCore

/// Output lines of 64 KiB and more (issue 10: a line of exactly 64 KiB crashed the runner),
/// locally and through the engine into every sink.
@Suite(.serialized)
struct LongLineTests {
    let target = LocalTarget()

    private func run(_ command: Command) async throws -> (CommandResult, [OutputLine]) {
        let lines = Mutex<[OutputLine]>([])
        let result = try await target.run(command) { line in lines.withLock { $0.append(line) } }
        return (result, lines.withLock { $0 })
    }

    /// The reproduction from the issue.
    @Test func sixtyFourKiBOfZerosAsOneLine() async throws {
        let (result, lines) = try await run(Command(.shell("head -c 65536 /dev/zero | tr '\\0' a; echo; echo done")))
        #expect(result.exitCode == 0)
        #expect(joinedLines(lines) == [String(repeating: "a", count: 65536), "done"])
    }

    @Test(arguments: [65535, 65536, 65537, 1 << 20, 16 << 20])
    func longLinesArriveIntact(size: Int) async throws {
        let dir = TempDir()
        let file = dir.path + "/line"
        let line = mixedLine(size)
        try Data(line + Array("\nafter\n".utf8)).write(to: URL(fileURLWithPath: file))
        let text = String(decoding: line, as: UTF8.self)
        for stream in [OutputStream.stdout, .stderr] {
            let redirect = stream == .stderr ? " >&2" : ""
            let (result, lines) = try await run(Command(.shell("cat \(file)\(redirect); echo end")))
            #expect(result.exitCode == 0)
            #expect(joinedLines(lines.filter { $0.stream == stream }) == [text, "after"] + (stream == .stdout ? ["end"] : []))
            // The result keeps the tail (1 MiB by default), cut at a character boundary.
            let kept = stream == .stdout ? result.stdout : result.stderr
            #expect(!kept.contains("\u{FFFD}"))
            #expect(kept.hasSuffix("after" + (stream == .stdout ? "\nend" : "")))
            #expect((stream == .stdout ? result.stdoutTruncated : result.stderrTruncated) == (size + 7 > 1 << 20))
        }
    }

    /// Through the engine: the step's output, the console, JSON lines and the store all see the
    /// line, the run finishes normally and `finally` runs.
    @Test func aPipelineWithLongLinesFinishesAndEverySinkHasThem() async throws {
        let dir = TempDir()
        let big = mixedLine((1 << 20) - 100)  // the step output keeps 1 MiB: all of it
        try Data(big + [0x0A]).write(to: URL(fileURLWithPath: dir.path + "/big"))
        let yaml = """
            name: long
            steps:
              - id: zeros
                run: "head -c 65536 /dev/zero | tr '\\\\0' a"
              - id: big
                run: cat \(dir.path)/big
              - id: after
                run: 'echo "${{ #steps.zeros.outputs.stdout }} ${{ #steps.big.outputs.stdout }}"'
            finally:
              - run: echo finally-ran
            """
        let path = dir.write("pipeline.yml", yaml)
        let loader = Harness.loader()
        let pipeline = try loader.load(path: path)
        let engine = Engine(plugins: loader.plugins, scripting: LuaScripting(), lockDirectory: dir.path + "/locks")
        let store = try RunStore(directory: dir.path + "/state")
        let consoleFile = dir.path + "/console.txt", jsonFile = dir.path + "/json.txt"
        let consoleFD = open(consoleFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(consoleFD) }
        let json = Mutex<[String]>([])
        let events = CollectingSink()
        let runID = RunID.generate().description
        let outcome = await engine.run(pipeline, params: [:], options: .init(runID: runID), sinks: [
            events, StoreSink(store: store),
            ConsoleSink(out: FileOutput(fd: consoleFD), style: .init(color: false, live: false)),
            JSONLinesSink { line in json.withLock { $0.append(line) } },
        ])
        #expect(outcome.status == .succeeded, "\(outcome.error ?? "")")
        let finallyRan = events.all.contains { event in
            guard case .stepFinished(let status, _, _, _, _, _) = event.kind else { return false }
            return event.step?.phase == "finally" && status == .ok
        }
        #expect(finallyRan)
        #expect(events.output.contains("finally-ran"))
        let zeros = String(repeating: "a", count: 65536), bigText = String(decoding: big, as: UTF8.self)
        #expect(events.output.contains("65536 \(big.count)"), "the step outputs hold the whole lines")

        // Events: pieces that join to the lines.
        let pieces = events.all.compactMap { event -> OutputLine? in
            guard case .output(let line) = event.kind, event.step?.id == "zeros" || event.step?.id == "big" else { return nil }
            return line
        }
        #expect(joinedLines(pieces) == [zeros, bigText])

        // The store keeps the pieces; joined by stream they give the lines back.
        var joiner = LineJoiner<String>()
        var stored: [String] = []
        try store.forEachLog(runID: runID) { record in
            guard record.stream == "stdout", record.step == "zeros" || record.step == "big" else { return }
            if let line = joiner.add(record.message, continues: record.continues, for: record.step ?? "") { stored.append(line.text) }
        }
        #expect(stored == [zeros, bigText])

        // JSON lines: one object per piece, marked while the line goes on.
        let objects = json.withLock { $0 }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let outputs = objects.filter { $0["event"] as? String == "output" && ($0["step_id"] as? String == "big") }
        #expect(outputs.count >= 16)  // 1 MiB in pieces of at most 64 KiB
        #expect(outputs.dropLast().allSatisfy { $0["continues"] as? Bool == true })
        #expect(outputs.last?["continues"] == nil)
        #expect(outputs.map { $0["msg"] as? String ?? "" }.joined() == bigText)

        // The console: the 64 KiB line shortened with a marker, printed once as one line.
        let console = try String(contentsOfFile: consoleFile, encoding: .utf8)
        let shown = console.split(separator: "\n").filter { $0.contains("bytes cut]") }
        #expect(shown.count == 2, "\(console.prefix(2000))")
        #expect(shown.first?.hasSuffix("… [\(65536 - (16 << 10)) bytes cut]") == true)
        #expect(console.contains("finally-ran"))
    }
}

/// Lua's `runner.exec` and `runner.sh` get long lines whole, and the step's log has runner.sh's.
@Suite struct LuaLongLineTests {
    @Test func execAndShReturnLongLinesWhole() async throws {
        let result = try await Harness.run("""
            steps:
              - id: l
                lua: |
                  local r = runner.exec("head -c 65536 /dev/zero | tr '\\\\0' a")
                  local s = runner.sh("head -c 200000 /dev/zero | tr '\\\\0' b")
                  return { exec = #r.stdout, sh = #s, same = (r.stdout == string.rep("a", 65536)) }
            """)
        #expect(result.outcome.status == .succeeded, "\(result.sink.transcript.suffix(500))")
        let outputs = result.sink.finished.first { $0.label == "l" }?.outputs ?? [:]
        #expect(outputs["exec"] == .int(65536) && outputs["sh"] == .int(200_000) && outputs["same"] == .bool(true), "\(outputs)")
        // runner.sh streams its pieces into the log; runner.exec hands its output to the script only.
        #expect(result.sink.output.joined() == String(repeating: "b", count: 200_000), "only runner.sh's output is logged")
    }
}

/// Plugins parse whole outputs only: a result holding just the tail must not be read as all.
@Suite struct CompleteOutputTests {
    @Test func aTruncatedOutputIsRefusedNamingTheCommand() async throws {
        let cut = try await LocalTarget().run(Command(.shell("echo '[1,2]'; head -c 5000 /dev/zero | tr '\\0' x"), outputLimit: 1000)) { _ in }
        let error = #expect(throws: StepFailure.self) { try cut.completeStdout("restic snapshots", limit: 1000) }
        #expect(error?.message.hasPrefix("restic snapshots: its output is larger than the 1000 bytes the runner keeps") == true,
                "\(error?.message ?? "")")
        let whole = try await LocalTarget().run(Command(.shell("echo '[1,2]'"), outputLimit: 1000)) { _ in }
        #expect(try whole.completeStdout("restic snapshots", limit: 1000) == "[1,2]")
    }
}

/// Output past what a step keeps is never passed off as the whole: flags, a warning, or a failure.
@Suite struct TruncatedOutputTests {
    @Test func aRunStepSaysItsStdoutWasCut() async throws {
        let result = try await Harness.run("""
            steps:
              - id: big
                run: head -c 1100000 /dev/zero | tr '\\\\0' x; echo; echo end >&2
              - id: small
                run: echo fine
            """)
        #expect(result.outcome.status == .succeeded)
        let big = result.sink.finished.first { $0.label == "big" }?.outputs ?? [:]
        #expect(big["stdout_truncated"] == .bool(true) && big["stderr_truncated"] == .bool(false), "\(big.keys.sorted())")
        let small = result.sink.finished.first { $0.label == "small" }?.outputs ?? [:]
        #expect(small["stdout_truncated"] == .bool(false) && small["stdout"] == .string("fine"))
        #expect(result.sink.transcript.contains("stdout was larger than the 1 MiB a step keeps"), "\(result.sink.transcript.suffix(300))")
    }

    @Test func luaShFailsAndExecFlagsOutputItCannotKeep() async throws {
        let result = try await Harness.run("""
            steps:
              - id: exec
                lua: |
                  local r = runner.exec("head -c 1100000 /dev/zero | tr '\\\\0' x")
                  return { cut = r.stdout_truncated, kept = #r.stdout }
              - id: sh
                if: always()
                lua: |
                  return { n = #runner.sh("head -c 1100000 /dev/zero | tr '\\\\0' x") }
            """)
        let exec = result.sink.finished.first { $0.label == "exec" }?.outputs ?? [:]
        #expect(exec["cut"] == .bool(true) && exec["kept"] == .int(1 << 20), "\(exec)")
        let sh = result.sink.finished.first { $0.label == "sh" }
        #expect(sh?.status == .failed)
        #expect(sh?.error?.contains("runner.sh: the command printed more than the 1 MiB kept") == true, "\(sh?.error ?? "")")
    }
}
