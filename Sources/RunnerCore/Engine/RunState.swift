import Synchronization

/// The mutable state of one run, shared by its steps (parallel ones included).
final class RunState: Sendable {
    let runID: String
    let pipeline: Pipeline
    let runtime: any ScriptRuntime
    let emitter: EventEmitter
    /// Nesting depth for `uses: pipeline`.
    let depth: Int
    /// Lock keys held by this run and its ancestors (a nested pipeline may re-enter them).
    let heldLocks: Set<String>
    /// Hosts `--limit` allows; nil when there is no limit.
    let limit: Set<String>?
    /// The run's local processes (tag, inherited locks); nil for a plan, which starts none.
    let processes: RunProcesses?
    /// The pipeline files from the top-level one down to this one (`uses: pipeline`).
    let chain: [String]
    /// Past runs (`Engine.Options.history`), passed on to nested pipelines.
    let history: (any RunHistory)?

    private struct Mutable {
        var failed = false
        var firstFailedStep: String?
        var counts = StepCounts()
    }
    private let state = Mutex(Mutable())

    init(runID: String, pipeline: Pipeline, runtime: any ScriptRuntime, emitter: EventEmitter, depth: Int, heldLocks: Set<String>,
         limit: Set<String>? = nil, processes: RunProcesses? = nil, chain: [String] = [], history: (any RunHistory)? = nil) {
        self.history = history
        self.limit = limit
        self.processes = processes
        self.chain = chain
        self.runID = runID
        self.pipeline = pipeline
        self.runtime = runtime
        self.emitter = emitter
        self.depth = depth
        self.heldLocks = heldLocks
    }

    var failed: Bool { state.withLock { $0.failed } }
    /// Marks the run failed; the first failed step is named in the run's error.
    func markFailed(step: String? = nil) {
        state.withLock { s in
            s.failed = true
            if s.firstFailedStep == nil { s.firstFailedStep = step }
        }
    }

    var firstFailedStep: String? { state.withLock { $0.firstFailedStep } }

    var counts: StepCounts { state.withLock { $0.counts } }
    func count(_ status: StepStatus) { state.withLock { $0.counts.add(status) } }
    /// A called pipeline's steps count in this run's summary: the console shows them as rows.
    func count(_ counts: StepCounts) { state.withLock { $0.counts.add(counts) } }

}
