import Foundation
import RunnerCore
import RunnerLua
import Testing

/// A backtracking Lua pattern in a pipeline stops at the step's timeout, the expression's time
/// limit or cancellation, and `finally` runs (issue 10, item 3). The instruction limits are
/// lifted here so that only the limit under test can stop the call.
@Suite(.serialized, .timeLimit(.minutes(1))) struct LuaPatternStopTests {
    static let backtracking = #"string.rep("a", 5000):find(string.rep("a*", 20) .. "b")"#
    static let unlimited = LuaScripting(
        expressionLimits: LuaLimits(instructions: .max, memoryBytes: 64 << 20, wallClock: .milliseconds(500)),
        stepLimits: LuaLimits(instructions: .max, memoryBytes: 64 << 20, wallClock: nil))

    func start(_ yaml: String, dir: TempDir) throws -> (Task<Engine.Outcome, Never>, CollectingSink) {
        let path = dir.write("p.yml", yaml)
        let loader = Harness.loader()
        let pipeline = try loader.load(path: path)
        let engine = Engine(plugins: loader.plugins, scripting: Self.unlimited, lockDirectory: dir.path + "/locks")
        let sink = CollectingSink()
        let task = Task { await engine.run(pipeline, params: [:], options: .init(runID: "t"), sinks: [sink]) }
        return (task, sink)
    }

    @Test(arguments: [backtracking, #"string.gsub(string.rep("a", 3000), string.rep("a-", 15) .. "b", "")"#])
    func aLuaStepStopsAtItsTimeout(code: String) async throws {
        let dir = TempDir()
        let (task, sink) = try start("""
            steps:
              - id: spin
                timeout: 1s
                lua: return { found = \(code) }
            finally:
              - run: echo finally > \(dir.path)/fin
            """, dir: dir)
        let outcome = await task.value
        #expect(outcome.status == .failed)
        #expect(sink.status(of: "spin") == .timedOut, "\(sink.transcript)")
        #expect(dir.read("fin") == "finally\n")
    }

    @Test func aLuaStepStopsWhenTheRunIsCancelled() async throws {
        let dir = TempDir()
        let (task, _) = try start("""
            steps:
              - lua: return { found = \(Self.backtracking) }
            finally:
              - run: echo finally > \(dir.path)/fin
            """, dir: dir)
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        let outcome = await task.value
        #expect(outcome.status == .cancelled)
        #expect(dir.read("fin") == "finally\n")
    }

    @Test(arguments: [backtracking, #"("x"):rep(4000):match(string.rep("x?", 60) .. string.rep("x", 60) .. "y")"#])
    func aConditionStopsAtTheExpressionTimeLimit(code: String) async throws {
        let dir = TempDir()
        let (task, sink) = try start("""
            steps:
              - id: guarded
                if: \(code) == nil
                run: echo ran > \(dir.path)/ran
            finally:
              - run: echo finally > \(dir.path)/fin
            """, dir: dir)
        let outcome = await task.value
        #expect(outcome.status == .failed)
        #expect(sink.transcript.contains("stopped: time limit reached"), "\(sink.transcript)")
        #expect(dir.read("ran") == nil)
        #expect(dir.read("fin") == "finally\n")
    }
}
