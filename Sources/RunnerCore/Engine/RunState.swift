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
    /// The inventory's own secrets, decrypted when a host credential first needs them.
    let inventorySecrets: InventorySecretsCache

    private struct Mutable {
        var failed = false
        var firstFailedStep: String?
        var counts = StepCounts()
        /// Steps whose outputs are `results` lists, by id: how they ran ("ran on 3 hosts").
        var fanOuts: [String: String] = [:]
    }
    private let state = Mutex(Mutable())

    init(runID: String, pipeline: Pipeline, runtime: any ScriptRuntime, emitter: EventEmitter, depth: Int, heldLocks: Set<String>,
         limit: Set<String>? = nil, processes: RunProcesses? = nil, chain: [String] = [], history: (any RunHistory)? = nil,
         inventorySecrets: InventorySecretsCache = InventorySecretsCache()) {
        self.inventorySecrets = inventorySecrets
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

    /// Records that step `id`'s outputs are a list of results (`ran`: "ran on 3 hosts").
    func recordFanOut(id: String, ran: String) { state.withLock { $0.fanOuts[id] = ran } }

    /// Evaluates an expression of this run. Reading `steps.<id>.outputs.<key>` of a step whose
    /// outputs are a list of results is an error naming the shape (validation catches the
    /// cases it can see; this catches those decided at run time, like `on: ${{ … }}`).
    func evaluate(_ expression: Expression, locals: [String: Value]) async throws -> Value {
        try checkFanOutReads(in: expression.source, at: expression.location)
        return try await runtime.evaluate(expression, locals: locals)
    }

    /// Throws when `source` reads `steps.<id>.outputs.<key>` (key not `results`) of a step that
    /// fanned out.
    func checkFanOutReads(in source: String, at location: SourceLocation) throws {
        let fanOuts = state.withLock { $0.fanOuts }
        guard !fanOuts.isEmpty, source.contains("outputs") else { return }
        for (path, _) in LuaSource(source).paths(from: "steps") where path.count > 3 && path[2] == "outputs" && path[3] != "results" {
            if let ran = fanOuts[path[1]] {
                throw ScriptError(ReferenceCheck.fanOutMessage(id: path[1], key: path[3], ran: ran), at: location)
            }
        }
    }

}
