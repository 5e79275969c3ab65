#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The local processes of one run: the tag that marks every process the run starts, and the
/// lock descriptors those processes inherit.
///
/// - The tag (`RUNNER_PROCESS_TAG` in the environment, inherited by children) lets the runner
///   find what a command left behind even after it left the process group, to stop it when the
///   command is timed out or cancelled (`stopLeftovers(ofCommand:)`) and when the run ends
///   (`stopLeftovers()`). See `ProcessSweep`.
/// - The run's `concurrency:` lock descriptors are inherited by every local process of the run,
///   so the kernel keeps the lock until the last of them has exited: a runner killed with
///   SIGKILL does not free its lock while the commands it started still run.
///
/// Everything is per run, not per process: a server running several runs in one process gives
/// each its own `RunProcesses`, and a command inherits only its own run's locks and tag.
///
/// ```swift
/// let processes = RunProcesses()
/// let target = LocalTarget(processes: processes)
/// _ = try await target.run(Command(.shell("sleep 100 &"))) { _ in }
/// await processes.stopLeftovers()  // the background sleep is stopped
/// ```
public final class RunProcesses: Sendable {
    /// The environment variable that carries the tags: space-separated `<run>.<command>` tokens.
    /// A runner that was itself started by a run keeps that run's tokens in front of its own, so
    /// the outer run's sweep reaches the inner run's commands too.
    public static let variable = "RUNNER_PROCESS_TAG"

    /// This run's token: random, so two runs never share one even with the same run id.
    public let token: String
    /// The tag tokens the runner process itself inherited.
    private let inherited: String

    private struct State {
        var commands = 0
        var descriptors: [Int32] = []
    }
    private let state = Mutex(State())

    public init() {
        token = "r" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        inherited = getenv(Self.variable).map { String(cString: $0) } ?? ""
        LiveProcessGroups.shared.insert(run: token)
    }

    deinit { LiveProcessGroups.shared.remove(run: token) }

    /// A fresh tag for one command: the environment value to give it, and its own token.
    func nextCommandTag() -> (value: String, token: String) {
        let number = state.withLock { $0.commands += 1; return $0.commands }
        let own = "\(token).\(number)"
        return (inherited.isEmpty ? own : inherited + " " + own, own)
    }

    /// Whether a tag token belongs to this run.
    func owns(_ tagToken: Substring) -> Bool {
        tagToken.hasPrefix(token + ".")
    }

    /// Stops, with SIGKILL and at once, every process of the runs with these tokens.
    static func kill(runs tokens: [String]) {
        guard !tokens.isEmpty else { return }
        ProcessSweep.stop({ tag in tokens.contains { tag.hasPrefix($0 + ".") } }, grace: .zero)
    }

    // MARK: - Inherited descriptors

    /// Adds a descriptor (a lock) that every command of the run started from now on inherits.
    func inherit(_ fd: Int32) {
        state.withLock { $0.descriptors.append(fd) }
    }

    /// Stops handing `fd` to new commands and closes it. Commands started before keep their
    /// copies (and so a lock stays held until they are gone).
    func close(_ fd: Int32) {
        state.withLock { s in
            s.descriptors.removeAll { $0 == fd }
            _ = closeDescriptor(fd)
        }
    }

    /// Runs `body` (a spawn) with the descriptors to inherit; none can be closed meanwhile, so a
    /// descriptor number cannot be reused for something else before the child has its copy.
    func withDescriptors<T>(_ body: ([Int32]) throws -> T) rethrows -> T {
        try state.withLock { try body($0.descriptors) }
    }

    // MARK: - Leftovers

    /// Stops every process of this run that is still running (background processes, whatever
    /// left the process group): SIGTERM, then SIGKILL after `grace`. Returns what it stopped,
    /// as `pid (name)`. Call it when the run is over: nothing of the run may run after it.
    @discardableResult
    public func stopLeftovers(grace: Duration = .seconds(3)) async -> [String] {
        let sweep: @Sendable () -> [String] = { ProcessSweep.stop({ self.owns($0) }, grace: grace).map(\.description) }
        // The sweep blocks (it waits out the grace), so it runs on a thread of its own.
        return (try? await onDedicatedThread(target: "local", sweep)) ?? sweep()
    }

    /// Stops what one command left behind (its tag token), for a command that was timed out or
    /// cancelled.
    func stopLeftovers(ofCommand tagToken: String, grace: Duration) {
        ProcessSweep.stop({ $0 == tagToken }, grace: grace)
    }

    /// The processes of the run with this token that are still running, as `pid (name)`; only
    /// this user's processes can be seen.
    static func running(ofRun token: String) -> [String] {
        ProcessSweep.find { $0.hasPrefix(token + ".") }.map(\.description)
    }
}

/// `close(2)`, callable from a type with a `close` method of its own.
private func closeDescriptor(_ fd: Int32) -> Int32 { close(fd) }
