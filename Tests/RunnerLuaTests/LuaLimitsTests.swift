import Foundation
import RunnerCore
import RunnerLua
import Testing

@Suite("Limits and cancellation", .timeLimit(.minutes(1)))
struct LuaLimitsTests {
    static let spin = "while true do end"
    static let hog = "local t = {} while true do t[#t + 1] = string.rep('x', 1000) end"

    /// Runs `body`, returning its error and how long it took.
    func timed(_ body: () throws -> Void) -> (LuaError?, Duration) {
        let clock = ContinuousClock()
        var error: LuaError?
        let elapsed = clock.measure { error = failure(body) }
        return (error, elapsed)
    }

    @Test func instructionLimitStopsALoop() throws {
        let state = try LuaState(limits: LuaLimits(wallClock: nil))
        let (error, elapsed) = timed { _ = try run(Self.spin, in: state, chunkName: "spin.lua") }
        #expect(error?.kind == .instructionLimit)
        #expect(error?.message == "instruction limit of 50000000 exceeded")
        #expect(error?.chunkName == "spin.lua")
        #expect(error?.line == 1)
        // A fresh budget for the next call.
        #expect(try evaluate("local n = 0 for i = 1, 1000000 do n = n + i end return n", in: state) == 500000500000)
    }

    @Test func instructionBudgetIsPerCall() throws {
        let state = try LuaState(limits: LuaLimits(instructions: 100_000))
        let chunk = try state.compile("local n = 0 for i = 1, 10000 do n = n + 1 end return n", chunkName: "c")
        for _ in 0..<20 { #expect(try state.call(chunk) == [10000]) }
        #expect(failure(running: "for i = 1, 1000000 do end", in: state)?.kind == .instructionLimit)
    }

    @Test func wallClockStopsALoop() throws {
        let limits = LuaLimits(instructions: .max, wallClock: .milliseconds(200))
        let state = try LuaState(limits: limits)
        let (error, elapsed) = timed { _ = try run(Self.spin, in: state) }
        #expect(error?.kind == .timeout)
        #expect(elapsed >= .milliseconds(200))
        #expect(try evaluate("return 'alive'", in: state) == "alive")
    }

    @Test func memoryLimitStopsAHog() throws {
        let state = try LuaState(limits: LuaLimits(instructions: .max, memoryBytes: 8 << 20, wallClock: .seconds(10)))
        let (error, elapsed) = timed { _ = try run(Self.hog, in: state) }
        #expect(error?.kind == .memoryLimit)
        #expect(error?.message == "memory limit of 8 MiB exceeded")
        #expect(state.memoryUsed <= (8 << 20) + (1 << 20))
        #expect(try evaluate("return #string.rep('y', 1000000)", in: state) == 1_000_000)
    }

    @Test func defaultMemoryLimitStopsTheHogQuickly() throws {
        // Default limits except the clock, so a loaded machine cannot turn this into a timeout.
        var limits = LuaLimits.default
        limits.wallClock = nil
        let (error, elapsed) = timed { _ = try run(Self.hog, limits: limits) }
        #expect(error?.kind == .memoryLimit)
        #expect(error?.message == "memory limit of 64 MiB exceeded")
    }

    @Test func tinyMemoryLimitsFailAtCreation() {
        #expect(failure { _ = try LuaState(limits: LuaLimits(memoryBytes: 500)) }?.kind == .memoryLimit)
        #expect(failure { _ = try LuaState(limits: LuaLimits(memoryBytes: 10_000)) }?.kind == .memoryLimit)
    }

    @Test func oneHugeAllocationIsRefused() throws {
        let state = try LuaState(limits: LuaLimits(memoryBytes: 4 << 20))
        #expect(failure(running: "return #string.rep('x', 100000000)", in: state)?.kind == .memoryLimit)
        #expect(try evaluate("return 1", in: state) == 1)
    }

    @Test("pcall cannot swallow a limit", arguments: [
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "while true do pcall(string.rep, 'x', 100000000) end",
    ])
    func pcallCannotSwallowALimit(source: String) throws {
        let limits = LuaLimits(instructions: 1_000_000, memoryBytes: 8 << 20, wallClock: .seconds(5))
        let (error, elapsed) = timed { _ = try run(source, limits: limits) }
        #expect(error?.kind == .instructionLimit || error?.kind == .memoryLimit)
    }

    @Test func cancelFromAnotherThread() throws {
        let state = try LuaState(limits: LuaLimits(instructions: .max, wallClock: nil))
        cancel(state.canceller, after: 0.1)
        let (error, elapsed) = timed { _ = try run(Self.spin, in: state) }
        #expect(error?.kind == .cancelled)
        #expect(elapsed >= .milliseconds(100))
        #expect(try evaluate("return 'next call runs'", in: state) == "next call runs")
    }

    @Test func cancellerOutlivesItsState() throws {
        var state: LuaState? = try LuaState()
        let canceller = try #require(state).canceller
        state = nil
        canceller.cancel()  // harmless: the control block lives as long as the canceller
        #expect(state == nil)
    }

    @Test func cancelBeforeACallCancelsIt() throws {
        let state = try LuaState()
        state.cancel()
        #expect(failure(running: "return 1", in: state)?.kind == .cancelled)
        #expect(try evaluate("return 2", in: state) == 2)
    }

    @Test func finalizersAreRefused() throws {
        let state = try LuaState(limits: LuaLimits(instructions: 10_000_000))
        let error = failure(running: "setmetatable({}, {__gc = function() while true do end end})", in: state)
        #expect(error?.message == "finalizers (__gc) are not allowed")
        #expect(failure(running: "setmetatable({}, {__gc = true})", in: state) != nil)
        // Adding __gc later does not mark the object for finalization.
        let late = """
            local mt = {}
            for i = 1, 1000 do setmetatable({}, mt) end
            mt.__gc = function() while true do end end
            local t = {} for i = 1, 200000 do t[i] = {} end
            return #t
            """
        #expect(try evaluate(late, in: state) == 200000)
        #expect(try evaluate("local t = {} for i = 1, 200000 do t[i] = {} end return #t", in: state) == 200000)
        #expect(try evaluate("return getmetatable(setmetatable({}, {__index = {x = 1}})).__index.x", in: state) == 1)
    }
}
