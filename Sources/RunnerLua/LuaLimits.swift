/// What one `LuaState.call` may consume before it is stopped.
///
/// The instruction budget and the wall clock apply afresh to every call; the memory limit covers
/// everything the state holds (libraries, globals, compiled chunks and what scripts allocate).
public struct LuaLimits: Sendable, Hashable {
    /// Lua VM instructions per call, checked every 1000 instructions. Default 50 million.
    /// The steps of the bounded library functions (a pattern matcher step, an element moved by
    /// `table.move`, a comparison in `table.sort`) count as instructions too.
    public var instructions: Int
    /// Bytes the whole state may allocate. Default 64 MiB.
    public var memoryBytes: Int
    /// Wall-clock time per call, or `nil` for none. Default 2 seconds.
    ///
    /// Checked every 1000 instructions, at every function call (Lua or C), and every 1024 steps
    /// inside the bounded library functions (pattern matching, `table.sort`, ...), so a
    /// backtracking pattern stops at the deadline too.
    public var wallClock: Duration?

    public init(instructions: Int = 50_000_000, memoryBytes: Int = 64 << 20, wallClock: Duration? = .seconds(2)) {
        self.instructions = instructions
        self.memoryBytes = memoryBytes
        self.wallClock = wallClock
    }

    /// 50 million instructions, 64 MiB, 2 seconds.
    public static let `default` = LuaLimits()

    /// The wall clock in nanoseconds for the C hook; 0 means no deadline.
    var wallClockNanoseconds: Int64 {
        guard let wallClock else { return 0 }
        guard wallClock > .zero else { return 1 }
        let (seconds, attoseconds) = wallClock.components
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        return max(1, nanos &+ attoseconds / 1_000_000_000)
    }
}
